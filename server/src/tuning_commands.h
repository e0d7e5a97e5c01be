// server/src/tuning_commands.h — memcached's runtime tuning commands of the
// text protocol: `slabs reassign|automove`, `lru tune|mode|temp_ttl`,
// `cache_memlimit`, `extstore <setting> <value>` and `lru_crawler
// crawl|metadump|sleep|tocrawl|enable|disable` (a metadump is started here
// and sent by the connection in batches: Session::continue_dump), and
// `refresh_certs` (-Z: reloads the certificates).
//
// Token counts, number parsing, noreply and reply lines are memcached
// 1.6.18's (proto_text.c); the settings change through memext/tuning.h and
// ExtStore::set_option under the engine lock. `t` is the tokenized command
// line, command name first.
#pragma once

#include <string_view>
#include <vector>

namespace memext {
class LruCrawler;
}

namespace memext::server {

class Session;
struct SharedEngine;

void slabs_command(Session& s, const std::vector<std::string_view>& t);
void lru_command(Session& s, const std::vector<std::string_view>& t);
void cache_memlimit_command(Session& s, const std::vector<std::string_view>& t);
void extstore_command(Session& s, const std::vector<std::string_view>& t);
void lru_crawler_command(Session& s, const std::vector<std::string_view>& t);
void refresh_certs_command(Session& s, const std::vector<std::string_view>& t);

}  // namespace memext::server
