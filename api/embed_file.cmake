# Writes OUTPUT, a C++ source that defines the bytes of INPUT as
#   extern const unsigned char leadflow::api::detail::<SYMBOL>[]  (then a 0)
#   extern const std::size_t leadflow::api::detail::<SYMBOL>Size  (without it)
# Run by the build (cmake -DINPUT=... -DOUTPUT=... -DSYMBOL=... -P embed_file.cmake)
# whenever INPUT changes (leadflow_embed_document in api/CMakeLists.txt);
# api/openapi.cc reads docs/openapi.json and docs/events.schema.json through it.
foreach(var INPUT OUTPUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_file.cmake needs -D${var}=...")
  endif()
endforeach()

file(READ "${INPUT}" hex HEX)
# 16 bytes a line, each byte as 0xNN.
string(REGEX REPLACE "(................................)" "\\1\n" hex "${hex}")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")

file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by api/embed_file.cmake; do not edit.\n"
  "#include <cstddef>\n\n"
  "namespace leadflow::api::detail {\n\n"
  "extern const unsigned char ${SYMBOL}[] = {\n${bytes}\n0x00};\n"
  "extern const std::size_t ${SYMBOL}Size = sizeof(${SYMBOL}) - 1;\n\n"
  "}  // namespace leadflow::api::detail\n")
# Rewritten only when the bytes changed, so that an unchanged file costs no
# recompilation.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
