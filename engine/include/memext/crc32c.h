// memext/crc32c.h — CRC-32C (Castagnoli), the checksum extstore stores with
// every object written to flash so a read can detect a torn or stale object.
//
// Chaining follows memcached's crc32c(crc, buf, len): start with 0 and feed
// the previous result back in; crc32c(crc32c(0, a), b) == crc32c(0, a + b).
// The hardware path (SSE4.2 crc32 instruction) is chosen once at start-up
// when the CPU has it; both paths give identical results. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memext {

uint32_t crc32c(uint32_t crc, const void* data, size_t len);

// The two implementations, exposed so tests can check they agree.
uint32_t crc32c_software(uint32_t crc, const void* data, size_t len);
// Precondition: crc32c_hardware_available().
uint32_t crc32c_hardware(uint32_t crc, const void* data, size_t len);
bool crc32c_hardware_available();

}  // namespace memext
