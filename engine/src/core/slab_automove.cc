// memcached 1.6.18's slab_automove_run and slab_automove_extstore_run,
// including their quirks: decisions to reclaim a page to the global pool are
// returned before the window has filled once, the default algorithm stops
// scanning classes at the first reclaim, and the extstore one lets a later
// class override an earlier reclaim.
#include "core/slab_automove.h"

namespace memext::core {

namespace {

constexpr double kMinPagesForSource = 2;
constexpr double kMinPagesForReclaim = 2.5;
constexpr double kMinPagesFree = 1.5;

}  // namespace

SlabAutomover::SlabAutomover(Algorithm algorithm, const EngineConfig& config,
                             const AutomoveSample& initial)
    : algorithm_(algorithm),
      window_size_(config.slab_automove_window),
      max_age_ratio_(config.slab_automove_ratio),
      free_ratio_(config.ext.slab_automove_freeratio),
      item_size_(config.ext.item_size),
      windows_(size_t{kMaxSlabClasses} * config.slab_automove_window),
      before_(initial) {}

AutomoveDecision SlabAutomover::run(const AutomoveSample& sample) {
  return algorithm_ == Algorithm::kExtstore ? run_extstore(sample) : run_default(sample);
}

SlabAutomover::WindowData& SlabAutomover::current_window(uint32_t clsid) {
  return windows_[size_t{clsid} * window_size_ + window_cur_ % window_size_];
}

SlabAutomover::WindowData SlabAutomover::window_sum(uint32_t clsid) const {
  WindowData sum;
  for (uint32_t i = 0; i < window_size_; ++i) {
    const WindowData& d = windows_[size_t{clsid} * window_size_ + i];
    sum.age += d.age;
    sum.dirty += d.dirty;
    sum.evicted += d.evicted;
    sum.excess_free += d.excess_free;
  }
  return sum;
}

SlabAutomover::WindowData& SlabAutomover::record(uint32_t clsid, const AutomoveSample& after) {
  WindowData& wd = current_window(clsid);
  wd = WindowData{};
  const AutomoveClassSample& now = after.classes[clsid];
  const AutomoveClassSample& then = before_.classes[clsid];
  // memcached keeps these counts signed: a class that lost a page is not dirty.
  if (now.evicted > then.evicted || now.outofmemory > then.outofmemory) {
    wd.evicted = 1;
    wd.dirty = 1;
  }
  if (now.total_pages > then.total_pages) wd.dirty = 1;
  return wd;
}

AutomoveDecision SlabAutomover::run_default(const AutomoveSample& after) {
  AutomoveDecision decision;
  int oldest = -1;
  uint64_t oldest_age = 0;
  int youngest = -1;
  uint64_t youngest_age = UINT64_MAX;
  bool youngest_evicting = false;
  ++window_cur_;
  for (uint32_t n = 1; n < kMaxSlabClasses; ++n) {
    current_window(n) = WindowData{};
    // The sum is taken before this sample is recorded (memcached's order).
    const WindowData sum = window_sum(n);
    WindowData& wd = record(n, after);
    const AutomoveClassSample& cls = after.classes[n];
    wd.age = cls.age;
    const uint64_t age = sum.age / window_size_;
    if (cls.free_chunks > cls.chunks_per_page * kMinPagesForReclaim && sum.dirty == 0) {
      decision = {static_cast<int>(n), 0};
      break;
    }
    if (age > oldest_age && cls.total_pages > kMinPagesForSource) {
      oldest = static_cast<int>(n);
      oldest_age = age;
    }
    if (age < youngest_age && sum.evicted > window_size_ / 2) {
      youngest = static_cast<int>(n);
      youngest_age = age;
      youngest_evicting = wd.evicted != 0;
    }
  }
  before_ = after;
  if (youngest != -1 && oldest != -1 && window_cur_ > window_size_ && youngest_evicting &&
      static_cast<double>(youngest_age) < static_cast<double>(oldest_age) * max_age_ratio_) {
    decision = {oldest, youngest};
  }
  return decision;
}

AutomoveDecision SlabAutomover::run_extstore(const AutomoveSample& after) {
  AutomoveDecision decision;
  int oldest = -1;
  uint64_t oldest_age = 0;
  bool too_free = false;
  // global_pool_check: against the watermark of the previous run.
  const bool global_low =
      after.mem_limit_reached && after.classes[0].total_pages < global_pool_watermark_;
  ++window_cur_;
  // memcheck: the watermark is a share of every page, pooled or not.
  uint64_t total_pages = 0;
  for (uint32_t n = 0; n < kMaxSlabClasses; ++n) total_pages += after.classes[n].total_pages;
  global_pool_watermark_ = static_cast<uint64_t>(static_cast<double>(total_pages) * free_ratio_);
  if (global_pool_watermark_ < 2) global_pool_watermark_ = 2;

  for (uint32_t n = 1; n < kMaxSlabClasses; ++n) {
    const bool small_slab = before_.classes[n].chunk_size < item_size_;
    WindowData& wd = record(n, after);
    const AutomoveClassSample& cls = after.classes[n];
    const uint64_t free_target =
        static_cast<uint64_t>(static_cast<double>(cls.chunks_per_page) * kMinPagesFree);
    // Twice the free target for a whole window: memory the class can spare.
    if (cls.free_chunks > free_target * 2) wd.excess_free = 1;
    wd.age = cls.age;
    const WindowData sum = window_sum(n);
    const uint64_t age = sum.age / window_size_;
    if (cls.free_chunks > cls.chunks_per_page * kMinPagesForReclaim && sum.dirty == 0 &&
        (small_slab || sum.excess_free >= window_size_)) {
      decision = {static_cast<int>(n), 0};
      too_free = true;
    }
    if (!small_slab && age > oldest_age && cls.total_pages > kMinPagesForSource) {
      oldest = static_cast<int>(n);
      oldest_age = age;
    }
  }
  before_ = after;
  if (window_cur_ < window_size_) return decision;
  if (!too_free && global_low && oldest != -1) decision = {oldest, 0};
  return decision;
}

}  // namespace memext::core
