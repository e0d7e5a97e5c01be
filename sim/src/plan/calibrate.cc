#include "plan/calibrate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "plan/calibrate_workload.h"
#include "plan/curve_fit.h"
#include "ssd/ssd_spec_file.h"

namespace memext {

namespace {

// The parser's ranges (ssd_presets.cc), so every fitted value is a valid spec.
constexpr double kMaxServiceUs = 1e6;
constexpr double kMinUnitMbPerS = 0.01;
constexpr double kMaxUnitMbPerS = 1e6;
constexpr uint32_t kMaxUnits = 4096;
// A model figure missing where fio measured one scores as this log error.
constexpr double kMissingPenalty = 100;

double log_error(double model, double measured) {
  if (!(measured > 0)) return 0;
  if (!(model > 0)) return kMissingPenalty;
  const double d = std::log(model / measured);
  return d * d;
}

double score(const SsdModelParams& params, const std::vector<FioJob>& jobs, uint64_t seed) {
  double total = 0;
  for (const FioJob& job : jobs) {
    const ModelledJob model = run_job_on_model(params, job, {.seed = seed});
    for (auto [measured, modelled] :
         {std::pair{&job.read, &model.read}, std::pair{&job.write, &model.write}}) {
      if (measured->ios == 0) continue;
      total += log_error(modelled->iops, measured->iops);
      total += log_error(modelled->lat_mean_ns, measured->lat_mean_ns);
    }
  }
  return total;
}

double round_significant(double value, int digits) {
  if (value == 0 || !std::isfinite(value)) return value;
  const double scale = std::pow(10.0, digits - 1 - std::floor(std::log10(std::abs(value))));
  return std::round(value * scale) / scale;
}

// Step 1: QD1 latency = fixed + bytes on one unit / unit rate.
void fit_service_time(const std::vector<FioJob>& jobs, bool read, SsdModelParams* params,
                      std::vector<std::string>* notes) {
  double& base_us = read ? params->read_us : params->write_us;
  double& rate = read ? params->unit_read_mb_per_s : params->unit_write_mb_per_s;
  const char* direction = read ? "read" : "write";
  std::vector<std::vector<double>> rows;
  std::vector<double> latencies;
  std::set<double> distinct;
  for (const FioJob& job : jobs) {
    const FioSide& side = read ? job.read : job.write;
    if (job.depth != 1 || side.ios == 0 || !(side.lat_mean_ns > 0)) continue;
    const double bytes = std::min(read ? job.read_bs : job.write_bs, params->chunk_bytes);
    rows.push_back({1.0, bytes});
    latencies.push_back(side.lat_mean_ns);
    distinct.insert(bytes);
  }
  if (rows.empty()) {
    notes->push_back(std::string("no queue-depth-1 ") + direction + " job: " + direction +
                     "_us and unit_" + direction + "_mb_per_s start from the base preset");
    return;
  }
  if (distinct.size() >= 2) {
    const std::vector<double> coef = solve_least_squares(rows, latencies);
    double fixed_ns = coef[0];
    double ns_per_byte = coef[1];
    if (fixed_ns < 0) {
      // Through the origin: all of the latency is transfer.
      double xy = 0, xx = 0;
      for (size_t i = 0; i < rows.size(); ++i) {
        xy += rows[i][1] * latencies[i];
        xx += rows[i][1] * rows[i][1];
      }
      fixed_ns = 0;
      ns_per_byte = xy / xx;
    }
    if (ns_per_byte * 1e-3 < 1 / kMaxUnitMbPerS) {
      notes->push_back(std::string("QD1 ") + direction +
                       " latency does not grow with block size: transfer time taken as ~0");
      ns_per_byte = 1e3 / kMaxUnitMbPerS;
    }
    base_us = std::clamp(fixed_ns / 1e3, 0.0, kMaxServiceUs);
    rate = std::clamp(1e3 / ns_per_byte, kMinUnitMbPerS, kMaxUnitMbPerS);
    return;
  }
  // One block size: the split between fixed and transfer time is unknown;
  // keep the preset's unit rate and put the rest in the fixed time.
  notes->push_back(std::string("QD1 ") + direction +
                   " jobs have one block size (up to the chunk): unit_" + direction +
                   "_mb_per_s kept from the base preset, " + direction + "_us fitted");
  const double transfer_ns = *distinct.begin() / rate * 1e-3 * 1e6;
  const double mean = std::accumulate(latencies.begin(), latencies.end(), 0.0) /
                      static_cast<double>(latencies.size());
  base_us = std::clamp((mean - transfer_ns) / 1e3, 0.0, kMaxServiceUs);
}

// Step 3 for one cap: minimise sum (ln min(q_j, cap) - ln m_j)^2 exactly.
// The jobs the cap binds are those with the largest q, so each prefix of q
// sorted descending is a candidate, whose best cap is the geometric mean of
// its measurements clamped to the prefix's range. Returns 0 for no cap.
double fit_cap(const std::vector<double>& q, const std::vector<double>& m) {
  std::vector<size_t> order(q.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return q[a] > q[b]; });
  double free_error = 0;
  for (size_t i = 0; i < q.size(); ++i) free_error += log_error(q[i], m[i]);
  double best_error = free_error;
  double best_cap = 0;
  double bound_log_sum = 0;
  double bound_error_removed = 0;
  for (size_t k = 1; k <= order.size(); ++k) {
    const size_t j = order[k - 1];
    if (!(q[j] > 0) || !std::isfinite(q[j])) continue;
    bound_log_sum += std::log(m[j]);
    bound_error_removed += log_error(q[j], m[j]);
    const double upper = q[j];
    const double lower = k < order.size() ? q[order[k]] : 0;
    const double cap = std::clamp(std::exp(bound_log_sum / static_cast<double>(k)), lower, upper);
    double error = free_error - bound_error_removed;
    for (size_t i = 0; i < k; ++i) error += log_error(cap, m[order[i]]);
    if (error < best_error * (1 - 1e-9)) {
      best_error = error;
      best_cap = cap;
    }
  }
  return best_cap;
}

struct DirectionCaps {
  double iops = 0;
  double bytes_per_s = 0;
};

// Uncapped model IOPS of each measurement of one direction, and what fio saw.
struct UncappedPoint {
  double model_iops;
  double measured_iops;
  double block_size;
};

double capped(const UncappedPoint& p, const DirectionCaps& caps) {
  double iops = p.model_iops;
  if (caps.iops > 0) iops = std::min(iops, caps.iops);
  if (caps.bytes_per_s > 0) iops = std::min(iops, caps.bytes_per_s / p.block_size);
  return iops;
}

DirectionCaps fit_caps(const std::vector<UncappedPoint>& points) {
  DirectionCaps caps;
  if (points.empty()) return caps;
  std::vector<double> q(points.size());
  std::vector<double> m(points.size());
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 0; i < points.size(); ++i) {
      DirectionCaps other = caps;
      other.iops = 0;
      q[i] = capped(points[i], other);
      m[i] = points[i].measured_iops;
    }
    caps.iops = fit_cap(q, m);
    for (size_t i = 0; i < points.size(); ++i) {
      DirectionCaps other = caps;
      other.bytes_per_s = 0;
      q[i] = capped(points[i], other) * points[i].block_size;
      m[i] = points[i].measured_iops * points[i].block_size;
    }
    caps.bytes_per_s = fit_cap(q, m);
  }
  return caps;
}

// Step 2 + 3 for one unit count: the model without caps on every job, then
// the caps that fit best; returns the IOPS score with those caps.
double score_units(SsdModelParams params, const std::vector<FioJob>& jobs, uint64_t seed,
                   DirectionCaps* read_caps, DirectionCaps* write_caps) {
  params.read_iops = params.write_iops = 0;
  params.read_mb_per_s = params.write_mb_per_s = 0;
  std::vector<UncappedPoint> reads;
  std::vector<UncappedPoint> writes;
  for (const FioJob& job : jobs) {
    const ModelledJob model = run_job_on_model(params, job, {.seed = seed});
    if (job.read.ios != 0) reads.push_back({model.read.iops, job.read.iops, double(job.read_bs)});
    if (job.write.ios != 0) {
      writes.push_back({model.write.iops, job.write.iops, double(job.write_bs)});
    }
  }
  *read_caps = fit_caps(reads);
  *write_caps = fit_caps(writes);
  double total = 0;
  for (const UncappedPoint& p : reads) total += log_error(capped(p, *read_caps), p.measured_iops);
  for (const UncappedPoint& p : writes) total += log_error(capped(p, *write_caps), p.measured_iops);
  return total;
}

void apply_caps(const DirectionCaps& read, const DirectionCaps& write, SsdModelParams* params) {
  params->read_iops = static_cast<uint64_t>(std::llround(read.iops));
  params->write_iops = static_cast<uint64_t>(std::llround(write.iops));
  params->read_mb_per_s = read.bytes_per_s / 1e6;
  params->write_mb_per_s = write.bytes_per_s / 1e6;
}

std::vector<uint32_t> unit_grid() {
  std::vector<uint32_t> grid;
  for (uint32_t u = 1; u <= 16; ++u) grid.push_back(u);
  while (grid.back() < kMaxUnits) {
    grid.push_back(std::min(kMaxUnits, static_cast<uint32_t>(std::ceil(grid.back() * 1.08))));
  }
  return grid;
}

void fit_units_and_caps(const std::vector<FioJob>& jobs, uint64_t seed, SsdModelParams* params) {
  struct Candidate {
    double score;
    DirectionCaps read, write;
  };
  std::vector<std::pair<uint32_t, Candidate>> tried;
  auto evaluate = [&](uint32_t units) {
    for (const auto& [u, c] : tried) {
      if (u == units) return c.score;
    }
    SsdModelParams trial = *params;
    trial.units = units;
    Candidate c;
    c.score = score_units(trial, jobs, seed, &c.read, &c.write);
    tried.emplace_back(units, c);
    return c.score;
  };
  const std::vector<uint32_t> grid = unit_grid();
  size_t best = 0;
  for (size_t i = 0; i < grid.size(); ++i) {
    if (evaluate(grid[i]) < evaluate(grid[best])) best = i;
  }
  // Every integer between the best grid point's neighbours (ternary search
  // where that is too many; the score is smooth at that scale).
  uint32_t lo = grid[best == 0 ? 0 : best - 1];
  uint32_t hi = grid[std::min(best + 1, grid.size() - 1)];
  while (hi - lo > 24) {
    const uint32_t a = lo + (hi - lo) / 3;
    const uint32_t b = hi - (hi - lo) / 3;
    if (evaluate(a) <= evaluate(b)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  for (uint32_t u = lo; u <= hi; ++u) evaluate(u);
  // Ties (units not identified by the measurements) go to the fewest units.
  const auto chosen =
      std::min_element(tried.begin(), tried.end(), [](const auto& a, const auto& b) {
        return a.second.score != b.second.score ? a.second.score < b.second.score
                                                : a.first < b.first;
      });
  params->units = chosen->first;
  apply_caps(chosen->second.read, chosen->second.write, params);
}

// Step 4: multiplicative pattern search over the fitted parameters.
void refine(const std::vector<FioJob>& jobs, uint64_t seed, SsdModelParams* params) {
  using Setter = std::function<bool(SsdModelParams&, double factor)>;
  auto scale_double = [](double SsdModelParams::*member, double lo, double hi) -> Setter {
    return [=](SsdModelParams& p, double factor) {
      if (p.*member == 0) return false;
      const double v = std::clamp(p.*member * factor, lo, hi);
      if (v == p.*member) return false;
      p.*member = v;
      return true;
    };
  };
  auto scale_cap = [](uint64_t SsdModelParams::*member) -> Setter {
    return [=](SsdModelParams& p, double factor) {
      if (p.*member == 0) return false;
      const auto v = std::max<uint64_t>(1, std::llround(double(p.*member) * factor));
      if (v == p.*member) return false;
      p.*member = v;
      return true;
    };
  };
  std::vector<Setter> setters = {
      scale_double(&SsdModelParams::read_us, 0, kMaxServiceUs),
      scale_double(&SsdModelParams::write_us, 0, kMaxServiceUs),
      scale_double(&SsdModelParams::unit_read_mb_per_s, kMinUnitMbPerS, kMaxUnitMbPerS),
      scale_double(&SsdModelParams::unit_write_mb_per_s, kMinUnitMbPerS, kMaxUnitMbPerS),
      scale_cap(&SsdModelParams::read_iops),
      scale_cap(&SsdModelParams::write_iops),
      scale_double(&SsdModelParams::read_mb_per_s, 0, 1e7),
      scale_double(&SsdModelParams::write_mb_per_s, 0, 1e7),
      [](SsdModelParams& p, double factor) {
        auto v =
            static_cast<uint32_t>(std::clamp<double>(std::llround(p.units * factor), 1, kMaxUnits));
        if (v == p.units)
          v = factor > 1 ? std::min(kMaxUnits, p.units + 1) : std::max(1u, p.units - 1);
        if (v == p.units) return false;
        p.units = v;
        return true;
      },
  };
  double best = score(*params, jobs, seed);
  for (double step : {0.2, 0.1, 0.05, 0.02, 0.01, 0.005}) {
    for (int round = 0; round < 4; ++round) {
      bool improved = false;
      for (const Setter& set : setters) {
        for (double factor : {1 + step, 1 / (1 + step)}) {
          SsdModelParams trial = *params;
          if (!set(trial, factor)) continue;
          const double s = score(trial, jobs, seed);
          if (s < best * (1 - 1e-9)) {
            best = s;
            *params = trial;
            improved = true;
            break;
          }
        }
      }
      if (!improved) break;
    }
  }
}

void round_for_spec(SsdModelParams* p) {
  for (double* v : {&p->read_us, &p->write_us, &p->unit_read_mb_per_s, &p->unit_write_mb_per_s,
                    &p->read_mb_per_s, &p->write_mb_per_s}) {
    *v = round_significant(*v, 4);
  }
  p->unit_read_mb_per_s = std::max(p->unit_read_mb_per_s, kMinUnitMbPerS);
  p->unit_write_mb_per_s = std::max(p->unit_write_mb_per_s, kMinUnitMbPerS);
  for (uint64_t* v : {&p->read_iops, &p->write_iops}) {
    *v = static_cast<uint64_t>(round_significant(static_cast<double>(*v), 4));
  }
}

}  // namespace

std::vector<MeasurementFit> compare_with_model(const SsdModelParams& params,
                                               const std::vector<FioJob>& jobs, uint64_t seed) {
  std::vector<MeasurementFit> out;
  for (const FioJob& job : jobs) {
    const ModelledJob model = run_job_on_model(params, job, {.seed = seed});
    for (bool read : {true, false}) {
      const FioSide& measured = read ? job.read : job.write;
      const FioSide& modelled = read ? model.read : model.write;
      if (measured.ios == 0) continue;
      MeasurementFit fit;
      fit.job = job.name;
      fit.source = job.source;
      fit.read = read;
      fit.random = job.random;
      fit.block_size = read ? job.read_bs : job.write_bs;
      fit.depth = job.depth;
      fit.read_fraction = job.read_fraction;
      fit.measured_iops = measured.iops;
      fit.model_iops = modelled.iops;
      fit.measured_lat_us = measured.lat_mean_ns / 1e3;
      fit.model_lat_us = modelled.lat_mean_ns / 1e3;
      fit.measured_mb_per_s = measured.bytes_per_s / 1e6;
      fit.model_mb_per_s = modelled.bytes_per_s / 1e6;
      out.push_back(fit);
    }
  }
  return out;
}

CalibrationResult calibrate_ssd_model(const std::vector<FioJob>& jobs,
                                      const CalibrateOptions& options) {
  if (jobs.empty()) throw std::invalid_argument("calibrate: no fio jobs to fit");
  CalibrationResult result;
  SsdModelParams& params = result.params;
  std::string base;
  std::string error = expand_ssd_spec_file(options.base_spec, &base);
  if (error.empty()) error = parse_ssd_model_spec(base, &params);
  if (!error.empty()) throw std::invalid_argument("--base '" + options.base_spec + "': " + error);
  params.wa = 1;
  params.burst_us = 0;
  params.queue_depth = 0;

  bool any_read = false, any_write = false, any_mixed = false;
  for (const FioJob& job : jobs) {
    any_read |= job.read.ios != 0;
    any_write |= job.write.ios != 0;
    any_mixed |= job.read.ios != 0 && job.write.ios != 0;
  }
  if (any_read) fit_service_time(jobs, true, &params, &result.notes);
  if (any_write) fit_service_time(jobs, false, &params, &result.notes);
  fit_units_and_caps(jobs, options.seed, &params);
  if (any_mixed) {
    SsdModelParams other = params;
    other.interference = !params.interference;
    if (score(other, jobs, options.seed) < score(params, jobs, options.seed)) params = other;
  } else {
    result.notes.push_back("no mixed job: interference kept from the base preset");
  }
  refine(jobs, options.seed, &params);
  round_for_spec(&params);
  if (!any_read) result.notes.push_back("no read job: read parameters are the base preset's");
  if (!any_write) result.notes.push_back("no write job: write parameters are the base preset's");

  result.measurements = compare_with_model(params, jobs, options.seed);
  double squares = 0;
  size_t figures = 0;
  for (const MeasurementFit& m : result.measurements) {
    for (auto [model, measured] :
         {std::pair{m.model_iops, m.measured_iops}, std::pair{m.model_lat_us, m.measured_lat_us}}) {
      if (!(measured > 0)) continue;
      squares += log_error(model, measured);
      ++figures;
      result.max_abs_rel_error = std::max(result.max_abs_rel_error, std::abs(model / measured - 1));
    }
  }
  result.rms_log_error = figures == 0 ? 0 : std::sqrt(squares / static_cast<double>(figures));
  return result;
}

std::string calibration_table(const CalibrationResult& result) {
  std::string out =
      "job                  dir   pattern    bs      depth  IOPS measured    model     err lat_us "
      "measured    model     err MB/s measured    model\n";
  char line[512];
  for (const MeasurementFit& m : result.measurements) {
    std::string job = m.job;
    if (job.size() > 20) job.replace(17, std::string::npos, "...");
    std::string pattern = m.random ? "random" : "seq";
    if (m.read_fraction > 0 && m.read_fraction < 1) {
      pattern.append(" ")
          .append(std::to_string(static_cast<int>(std::lround(m.read_fraction * 100))))
          .append("%r");
    }
    std::snprintf(line, sizeof(line),
                  "%-20s %-5s %-10s %-7u %5u %14.0f %8.0f %+6.1f%% %15.1f %8.1f %+6.1f%% %13.1f "
                  "%8.1f\n",
                  job.c_str(), m.read ? "read" : "write", pattern.c_str(), m.block_size, m.depth,
                  m.measured_iops, m.model_iops, m.iops_error() * 100, m.measured_lat_us,
                  m.model_lat_us, m.lat_error() * 100, m.measured_mb_per_s, m.model_mb_per_s);
    out += line;
  }
  std::snprintf(line, sizeof(line),
                "fit: rms error %.1f%% (of log model/measured), largest |error| %.1f%% over %zu "
                "measurements\n",
                result.rms_log_error * 100, result.max_abs_rel_error * 100,
                result.measurements.size());
  out += line;
  for (const std::string& note : result.notes) out += "note: " + note + "\n";
  return out;
}

std::string calibration_spec_file(const CalibrationResult& result,
                                  const std::vector<std::string>& sources) {
  std::string out =
      "# SSD model calibrated by memext-sim calibrate from fio measurements of a real device.\n"
      "# Use: memext-sim replay ... --device model:@THIS_FILE   (settings may follow: ,qd=64)\n"
      "# fio results:";
  for (const std::string& source : sources) out.append(" ").append(source);
  out += "\n#\n";
  const std::string table = calibration_table(result);
  size_t start = 0;
  while (start < table.size()) {
    const size_t end = table.find('\n', start);
    out.append("# ").append(table, start, end - start).append("\n");
    start = end + 1;
  }
  out += format_ssd_model_spec(result.params) + "\n";
  return out;
}

nlohmann::json calibration_to_json(const CalibrationResult& result) {
  nlohmann::json measurements = nlohmann::json::array();
  for (const MeasurementFit& m : result.measurements) {
    measurements.push_back({{"job", m.job},
                            {"source", m.source},
                            {"direction", m.read ? "read" : "write"},
                            {"random", m.random},
                            {"read_fraction", m.read_fraction},
                            {"block_size", m.block_size},
                            {"depth", m.depth},
                            {"measured_iops", m.measured_iops},
                            {"model_iops", m.model_iops},
                            {"iops_error", m.iops_error()},
                            {"measured_lat_us", m.measured_lat_us},
                            {"model_lat_us", m.model_lat_us},
                            {"lat_error", m.lat_error()},
                            {"measured_mb_per_s", m.measured_mb_per_s},
                            {"model_mb_per_s", m.model_mb_per_s}});
  }
  return {{"schema", "memext-sim-calibration/1"},  {"spec", format_ssd_model_spec(result.params)},
          {"rms_log_error", result.rms_log_error}, {"max_abs_rel_error", result.max_abs_rel_error},
          {"measurements", measurements},          {"notes", result.notes}};
}

}  // namespace memext
