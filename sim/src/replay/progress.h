// progress.h — a one-line progress display for long replays (requests done,
// rate, ETA) on stderr. The only wall-clock user in model mode besides the
// human summary, and it never reaches the JSON report. Enabled only when
// stderr is a terminal unless forced; redraws at most a few times a second.
// Not thread-safe.
#pragma once

#include <cstdint>

#include "replay/sim_options.h"

namespace memext {

class ReplayProgress {
 public:
  // total: expected record count, 0 when unknown (no ETA then).
  ReplayProgress(ProgressMode mode, uint64_t total);
  ~ReplayProgress();

  bool enabled() const { return enabled_; }
  void update(uint64_t done) {
    if (enabled_ && done >= next_check_) redraw(done);
  }
  // Clears the line.
  void done();

 private:
  void redraw(uint64_t done);

  bool enabled_ = false;
  bool drawn_ = false;
  uint64_t total_ = 0;
  uint64_t next_check_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t last_draw_ns_ = 0;
};

}  // namespace memext
