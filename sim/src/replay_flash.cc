#include "replay_flash.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "replay.h"

namespace memext {

struct FlashTier::Impl {};

FlashTier::FlashTier(Engine&, const SimOptions&) {
  throw std::runtime_error(
      "the flash tier (-o ext_path) is not available in this build: memext's extstore layer is "
      "not built yet; replay without ext_path");
}
FlashTier::~FlashTier() = default;
uint64_t FlashTier::next_completion_ns() const {
  return UINT64_MAX;
}
void FlashTier::start_read(std::string_view, uint8_t, const GetResult&, uint32_t, int64_t,
                           uint64_t) {}
void FlashTier::complete_reads(uint64_t) {}
uint64_t FlashTier::flusher_step(uint64_t now_ns) {
  return UINT64_MAX - now_ns;
}
uint64_t FlashTier::compactor_step(uint64_t now_ns) {
  return UINT64_MAX - now_ns;
}
void FlashTier::fill_sample(TimeSample&) const {}
void FlashTier::add_report(nlohmann::json&, uint64_t) const {}

}  // namespace memext
