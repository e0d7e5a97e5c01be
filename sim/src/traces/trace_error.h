// The exception trace input and output throw: for I/O failures, unreadable
// headers, and for malformed records when a reader runs in strict mode. Its
// message names the file, the line or byte offset and the bad field.
#pragma once

#include <stdexcept>
#include <string>

namespace memext {

class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace memext
