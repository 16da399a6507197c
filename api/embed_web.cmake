# Writes OUTPUT, a C++ source that holds every file of the page (web/, the
# dashboard; api/static_assets.h) as
#   extern const leadflow::api::detail::WebFile leadflow::api::detail::kWebFiles[]
#   extern const std::size_t leadflow::api::detail::kWebFileCount
# Run by the build (cmake -DFILES=a|b|... -DOUTPUT=... -P embed_web.cmake)
# whenever one of the files changes; api/CMakeLists.txt lists them (a file
# added to web/ is found by the next build: the glob is CONFIGURE_DEPENDS).
foreach(var FILES OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_web.cmake needs -D${var}=...")
  endif()
endforeach()

string(REPLACE "|" ";" files "${FILES}")
set(arrays "")
set(table "")
set(count 0)
foreach(file IN LISTS files)
  if(file STREQUAL "")
    continue()
  endif()
  get_filename_component(name "${file}" NAME)
  file(READ "${file}" hex HEX)
  string(REGEX REPLACE "(................................)" "\\1\n" hex "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND arrays "const unsigned char kFile${count}[] = {\n${bytes}\n0x00};\n")
  string(APPEND table "    {\"${name}\", kFile${count}, sizeof(kFile${count}) - 1},\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  set(table "    {nullptr, nullptr, 0},\n")
endif()

file(WRITE "${OUTPUT}.tmp"
  "// Generated from web/ by api/embed_web.cmake; do not edit.\n"
  "#include <cstddef>\n\n"
  "namespace leadflow::api::detail {\n\n"
  "struct WebFile {\n  const char* name;\n  const unsigned char* data;\n  std::size_t size;\n};\n\n"
  "namespace {\n${arrays}}  // namespace\n\n"
  "extern const WebFile kWebFiles[] = {\n${table}};\n"
  "extern const std::size_t kWebFileCount = ${count};\n\n"
  "}  // namespace leadflow::api::detail\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
