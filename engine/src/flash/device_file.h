// Opening the file behind FileDevice and UringDevice: one place for the
// create/lock/size rules so both devices fail with the same messages.
#pragma once

#include <cstdint>
#include <string>

namespace memext::flash {

// Opens path read-write (created if missing; O_DIRECT when direct), takes an
// exclusive flock so two processes cannot share one store, and makes sure at
// least size bytes are addressable: a regular file is extended with
// fallocate (ftruncate where that is unsupported), a block device must
// already be that large. Returns the fd; throws std::runtime_error naming the
// path, the failing step and strerror.
int open_device_file(const std::string& path, uint64_t size, bool direct);

// Closes fd (releasing its lock).
void close_device_file(int fd);

}  // namespace memext::flash
