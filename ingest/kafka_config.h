// Kafka client properties from a file (`leadflow serve --kafka-config
// FILE`): librdkafka's own property names, one `KEY=VALUE` a line, as in
// the files kcat -F and the Kafka tools read. For what a secured cluster
// needs (security.protocol, sasl.mechanisms, sasl.username, sasl.password,
// ssl.ca.location, ...) without secrets on a command line.
//
// Lines are trimmed; blank lines and lines starting with '#' or '!' are
// comments; the value is everything after the first '=' (so it may hold
// '=' itself). An error names the file and line, never the line's text: a
// property file holds secrets.
//
// Thread safety: pure functions.
#ifndef LEADFLOW_INGEST_KAFKA_CONFIG_H_
#define LEADFLOW_INGEST_KAFKA_CONFIG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "state/status.h"

namespace leadflow::ingest {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Appends the properties of text (the file's contents; name is for errors)
// to *out in file order. InvalidArgument on a line without '=' or with an
// empty key.
Status ParseKafkaConfig(std::string_view text, const std::string& name, KafkaProperties* out);
// Reads and parses the file at path (IoError when it cannot be read).
Status ReadKafkaConfig(const std::string& path, KafkaProperties* out);

}  // namespace leadflow::ingest

#endif  // LEADFLOW_INGEST_KAFKA_CONFIG_H_
