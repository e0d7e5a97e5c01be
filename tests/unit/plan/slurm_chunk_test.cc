// A sweep's Slurm submission cut to the cluster's MaxArraySize: the parsing
// of `scontrol show config`, the chunks, the merge job's dependency, and the
// sbatch calls made (fake sbatch and scontrol scripts record them; no
// cluster needed).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "plan/slurm_submit.h"
#include "plan/sweep_dir.h"

namespace memext {

namespace {

namespace fs = std::filesystem;
using Chunks = std::vector<std::pair<size_t, size_t>>;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_executable(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  fs::permissions(path, fs::perms::owner_all);
}

// A sweep DIR of `cells` cells (c0000...), the first `finished` of them with
// a report, and fake sbatch (prints job ids 100, 101, ... and logs its
// arguments, one call per line) and scontrol (prints `config`) beside it.
struct FakeCluster {
  std::string root;
  std::string dir;
  SweepSpec spec;
  SlurmOptions options;

  FakeCluster(size_t cells, size_t finished, const std::string& config) {
    char pattern[] = "/tmp/memext-slurm-chunk-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    root = pattern;
    dir = root + "/sweep";
    spec.trace = root + "/trace.csv";
    spec.axes = {{"m", {}}};
    for (size_t i = 0; i < cells; ++i) {
      SweepCell cell;
      cell.id = "c" + std::string(4 - std::to_string(i).size(), '0') + std::to_string(i);
      cell.args = {spec.trace, "-m", std::to_string(8 + i)};
      cell.flags = {{"m", std::to_string(8 + i)}};
      spec.axes[0].values.push_back(std::to_string(8 + i));
      spec.cells.push_back(cell);
    }
    prepare_sweep_dir(dir, spec);
    for (size_t i = 0; i < finished; ++i) {
      fs::create_directories(cell_dir(dir, spec.cells[i]));
      std::ofstream(cell_report_path(dir, spec.cells[i])) << "{}\n";
    }
    write_executable(root + "/sbatch",
                     "#!/bin/bash\n"
                     "n=$(cat '" +
                         root +
                         "/next' 2>/dev/null || echo 100)\n"
                         "echo $((n + 1)) > '" +
                         root +
                         "/next'\n"
                         "echo \"$*\" >> '" +
                         root +
                         "/sbatch.log'\n"
                         "echo \"$n;cluster\"\n");
    write_executable(root + "/scontrol", "#!/bin/bash\ncat <<'EOF'\n" + config + "EOF\n");
    options.sbatch = root + "/sbatch";
    options.scontrol = root + "/scontrol";
    options.sim_binary = "/opt/memext/memext-sim";
  }
  ~FakeCluster() { fs::remove_all(root); }

  std::vector<std::string> sbatch_calls() const {
    return lines_of(read_text(root + "/sbatch.log"));
  }
};

}  // namespace

TEST_CASE("MaxArraySize from scontrol show config") {
  CHECK(parse_max_array_size("Configuration data as of 2026-12-06T08:00:00\n"
                             "MaxArraySize            = 3\n"
                             "MaxJobCount             = 10000\n") == 3);
  CHECK(parse_max_array_size("  MaxArraySize = 4000001\r\n") == 4000001);
  CHECK(parse_max_array_size("MaxArraySize = 0\n") == 0);
  // Absent or unreadable: Slurm's default.
  CHECK(parse_max_array_size("") == kSlurmDefaultMaxArraySize);
  CHECK(parse_max_array_size("MaxJobCount = 5\n") == kSlurmDefaultMaxArraySize);
  CHECK(parse_max_array_size("MaxArraySizeLimit = 7\n") == kSlurmDefaultMaxArraySize);
  CHECK(parse_max_array_size("MaxArraySize = lots\n") == kSlurmDefaultMaxArraySize);
}

TEST_CASE("chunks: every array within the limit, in order, all cells once") {
  CHECK(slurm_array_chunks(0, 1001) == Chunks{});
  CHECK(slurm_array_chunks(4, 1001) == Chunks{{0, 4}});
  CHECK(slurm_array_chunks(1001, 1001) == Chunks{{0, 1001}});
  CHECK(slurm_array_chunks(1002, 1001) == Chunks{{0, 1001}, {1001, 1002}});
  CHECK(slurm_array_chunks(7, 3) == Chunks{{0, 3}, {3, 6}, {6, 7}});
  CHECK(slurm_array_chunks(3, 1) == Chunks{{0, 1}, {1, 2}, {2, 3}});
  for (size_t cells : {1, 999, 2500, 10007}) {
    size_t next = 0;
    for (const auto& [begin, end] : slurm_array_chunks(cells, 1001)) {
      CHECK(begin == next);
      CHECK(end > begin);
      CHECK(end - begin <= 1001);
      next = end;
    }
    CHECK(next == cells);
  }
  CHECK(slurm_after_all({"12"}) == "afterany:12");
  CHECK(slurm_after_all({"12", "13", "14"}) == "afterany:12:13:14");
}

TEST_CASE("a submission over MaxArraySize: several arrays, the merge after all of them") {
  // 8 cells, one finished: 7 to run in arrays of at most 3.
  FakeCluster cluster(8, 1, "MaxArraySize            = 3\n");
  const SlurmSubmission s = submit_sweep_to_slurm(cluster.dir, cluster.spec, cluster.options);
  CHECK(s.cells == 7);
  CHECK(s.max_array_size == 3);
  CHECK(s.array_job_ids == std::vector<std::string>{"100", "101", "102"});
  CHECK(s.merge_job_id == "103");
  const std::vector<std::string> calls = cluster.sbatch_calls();
  REQUIRE(calls.size() == 4);
  const std::string slurm_dir = fs::absolute(cluster.dir).lexically_normal().string() + "/slurm";
  CHECK(calls[0].find("--array=0-2 ") != std::string::npos);
  CHECK(calls[1].find("--array=0-2 ") != std::string::npos);
  CHECK(calls[2].find("--array=0-0 ") != std::string::npos);
  for (int k = 0; k < 3; ++k) {
    CHECK(calls[k].ends_with(slurm_dir + "/cells-" + std::to_string(k) + ".sh"));
  }
  CHECK(calls[3].find("--dependency=afterany:100:101:102 ") != std::string::npos);
  CHECK(calls[3].ends_with(slurm_dir + "/merge.sh"));
  // Each array's script lists its own cells, the finished one in none.
  CHECK(read_text(slurm_dir + "/cells-0.sh").find("cells=(c0001 c0002 c0003)\n") !=
        std::string::npos);
  CHECK(read_text(slurm_dir + "/cells-1.sh").find("cells=(c0004 c0005 c0006)\n") !=
        std::string::npos);
  CHECK(read_text(slurm_dir + "/cells-2.sh").find("cells=(c0007)\n") != std::string::npos);
}

TEST_CASE("within the limit, or without scontrol: one array") {
  {
    FakeCluster cluster(4, 0, "MaxArraySize = 1001\n");
    const SlurmSubmission s = submit_sweep_to_slurm(cluster.dir, cluster.spec, cluster.options);
    CHECK(s.array_job_ids == std::vector<std::string>{"100"});
    const std::vector<std::string> calls = cluster.sbatch_calls();
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].find("--array=0-3 ") != std::string::npos);
    CHECK(calls[1].find("--dependency=afterany:100 ") != std::string::npos);
  }
  {
    FakeCluster cluster(4, 0, "");
    cluster.options.scontrol = cluster.root + "/no-such-scontrol";
    const SlurmSubmission s = submit_sweep_to_slurm(cluster.dir, cluster.spec, cluster.options);
    CHECK(s.max_array_size == kSlurmDefaultMaxArraySize);
    CHECK(s.array_job_ids.size() == 1);
  }
  {
    // An explicit limit needs no scontrol.
    FakeCluster cluster(5, 0, "");
    cluster.options.scontrol = cluster.root + "/no-such-scontrol";
    cluster.options.max_array_size = 2;
    const SlurmSubmission s = submit_sweep_to_slurm(cluster.dir, cluster.spec, cluster.options);
    CHECK(s.array_job_ids.size() == 3);
  }
}

TEST_CASE("a cluster without job arrays is refused before anything is submitted") {
  FakeCluster cluster(4, 0, "MaxArraySize = 0\n");
  CHECK_THROWS_WITH_AS(submit_sweep_to_slurm(cluster.dir, cluster.spec, cluster.options),
                       doctest::Contains("MaxArraySize = 0"), SweepError);
  CHECK_FALSE(fs::exists(cluster.root + "/sbatch.log"));
}

}  // namespace memext
