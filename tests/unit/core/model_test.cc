// Random command sequences checked against a plain std::map model while
// memory is ample (no evictions), so every lookup's answer is known.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "test_helpers.h"

using namespace memext;
using namespace memext::testing;

namespace {

struct ModelItem {
  std::string value;
  uint32_t flags = 0;
};

}  // namespace

TEST_CASE("random operations agree with a map model") {
  Engine engine(small_config(1024));
  std::map<std::string, ModelItem> model;
  std::mt19937_64 rng(11);
  engine.set_time(100);
  for (int step = 0; step < 200000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 3000);
    const std::string value(rng() % 64, static_cast<char>('a' + rng() % 26));
    const uint32_t flags = static_cast<uint32_t>(rng() % 4);
    const auto found = model.find(key);
    const bool present = found != model.end();
    switch (rng() % 9) {
      case 0:
      case 1: {
        CHECK(store(engine, StoreMode::kSet, key, value, 0, flags).result == StoreResult::kStored);
        model[key] = {value, flags};
        break;
      }
      case 2: {
        const StoreResult r = store(engine, StoreMode::kAdd, key, value, 0, flags).result;
        CHECK(r == (present ? StoreResult::kNotStored : StoreResult::kStored));
        if (!present) model[key] = {value, flags};
        break;
      }
      case 3: {
        const StoreResult r = store(engine, StoreMode::kReplace, key, value, 0, flags).result;
        CHECK(r == (present ? StoreResult::kStored : StoreResult::kNotStored));
        if (present) model[key] = {value, flags};
        break;
      }
      case 4: {
        const bool append = rng() % 2 == 0;
        const StoreResult r =
            store(engine, append ? StoreMode::kAppend : StoreMode::kPrepend, key, value).result;
        CHECK(r == (present ? StoreResult::kStored : StoreResult::kNotStored));
        if (present)
          found->second.value = append ? found->second.value + value : value + found->second.value;
        break;
      }
      case 5: {
        CHECK(engine.remove(key) == (present ? DeleteResult::kDeleted : DeleteResult::kNotFound));
        model.erase(key);
        break;
      }
      case 6: {
        const DeltaOutcome d = engine.incr(key, 3);
        if (!present) {
          CHECK(d.result == DeltaResult::kNotFound);
        } else if (d.result == DeltaResult::kOk) {
          const uint64_t before = std::stoull(found->second.value);
          CHECK(d.value == before + 3);
          std::string text = std::to_string(d.value);
          if (text.size() < found->second.value.size()) {
            text.append(found->second.value.size() - text.size(), ' ');
          }
          found->second.value = text;
        } else {
          CHECK(d.result == DeltaResult::kNonNumeric);
        }
        break;
      }
      case 7: {
        const std::string number = std::to_string(rng() % 1000);
        store(engine, StoreMode::kSet, key, number);
        model[key] = {number, 0};
        break;
      }
      default: {
        GetResult r = engine.get(key);
        CHECK(r.hit() == present);
        if (present && r.hit()) {
          CHECK(r.value == found->second.value);
          CHECK(r.info.client_flags == found->second.flags);
        }
        break;
      }
    }
    if (step % 1000 == 0) engine.set_time(100 + step / 1000);
  }
  Stats st = engine.stats();
  CHECK(st.curr_items == model.size());
  CHECK(st.evictions == 0);
  uint64_t bytes = 0;
  for (const auto& [key, item] : model) {
    bytes += item_total_size(static_cast<uint32_t>(key.size()),
                             static_cast<uint32_t>(item.value.size() + 2), item.flags, true);
  }
  CHECK(st.bytes == bytes);
}
