#include "server.h"

#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "background_steps.h"
#include "connection.h"
#include "flash_reader.h"
#include "lock_holds.h"
#include "memext/extstore.h"
#include "memext/lru_crawler.h"
#include "memext/lru_maintainer.h"
#include "memext/slab_rebalancer.h"
#include "memory_file.h"
#include "process_setup.h"
#include "sasl_auth.h"
#include "server_context.h"
#include "tls_context.h"
#include "tuning_commands.h"
#include "udp_listener.h"
#include "verbose_log.h"
#include "write_error_log.h"

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace memext::server {
namespace {

// Connections that must have closed since the peak before freed memory is
// handed back to the system (a few MB of connection state).
constexpr uint64_t kTrimAfterClosing = 1000;

struct Worker {
  Worker(uint64_t read_buf_mem_limit, uint32_t threads) : budget(read_buf_mem_limit, threads) {}
  // Before io: the connections io destroys give their buffers back to it.
  BufferBudget budget;
  asio::io_context io{1};
  std::unique_ptr<FlashReader> reader;
  std::thread thread;
};

EngineConfig with_start_time(EngineConfig engine, int64_t started) {
  engine.process_started = started;
  return engine;
}

void drop_privileges(const std::string& user) {
  if (geteuid() != 0) return;
  if (user.empty()) {
    throw std::runtime_error("can't run as root without the -u switch");
  }
  struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) throw std::runtime_error("can't find the user " + user + " to switch to");
  if (setgroups(0, nullptr) < 0 && errno != EPERM) {
    throw std::runtime_error(std::string("setgroups: ") + std::strerror(errno));
  }
  if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
    throw std::runtime_error("failed to assume identity of user " + user + ": " +
                             std::strerror(errno));
  }
}

void raise_fd_limit(uint32_t max_connections) {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t want = static_cast<rlim_t>(max_connections) + 64;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min(want, rl.rlim_max);
  setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

struct Server::Impl {
  Impl(const ServerConfig& cfg, std::optional<int64_t> restored_started)
      : config(cfg),
        started_unix(
            restored_started.value_or(static_cast<int64_t>(std::time(nullptr)) - kStartRelTime)),
        start_rel(static_cast<rel_time_t>(static_cast<int64_t>(std::time(nullptr)) - started_unix)),
        shared(with_start_time(cfg.engine, started_unix)),
        ctx(config, shared, started_unix),
        signals(background, SIGINT, SIGTERM),
        steps(started_steady),
        flusher_steps(started_steady),
        compactor_steps(started_steady) {
    signals.add(SIGUSR1);
    ctx.request_shutdown = [this](bool graceful_stop) {
      asio::post(background, [this, graceful_stop] {
        graceful = graceful_stop;
        shutdown();
      });
    };
  }

  // Ownership, in member order; teardown() and the destructor free them in
  // reverse:
  // - the engine side (shared, ctx, flash, maintainer, crawler) is used by
  //   every handler of every io_context below;
  // - each worker's io_context owns its connections (kept alive by their
  //   pending handlers) and its FlashReader's ring watcher; connections use
  //   ctx, shared, flash and their worker's reader;
  // - `background` runs the signal_set and the listeners. A pending accept
  //   owns a peer socket of a worker's io_context and a handler that uses
  //   this Impl, so the listeners and `background`'s queue go before the
  //   workers.
  ServerConfig config;
  // Unix seconds of rel time 0; a restart (-e) resumes the first start's.
  int64_t started_unix;
  rel_time_t start_rel;  // rel time at started_steady
  Clock::time_point started_steady = Clock::now();
  SharedEngine shared;
  ServerContext ctx;
  std::unique_ptr<ExtStore> flash;
  std::unique_ptr<CompactorRunner> compactor;  // its thread's readback devices
  std::unique_ptr<LruMaintainer> maintainer;
  std::unique_ptr<LruCrawler> crawler;
  std::unique_ptr<SlabRebalancer> rebalancer;
  WriteErrorLog write_error_log;  // used by the clock step only
  uint64_t connections_peak = 0;  // since the last malloc_trim; clock step only
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context background{1};
  asio::signal_set signals;
  // Clock, LRU maintainer, crawler and slab rebalancer; the flusher; the compactor: one
  // thread each, so a step waiting on IO or CPU holds up no other concern.
  BackgroundSteps steps;
  BackgroundSteps flusher_steps;
  BackgroundSteps compactor_steps;
  std::unique_ptr<TlsContext> tls;  // -Z
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> tcp_acceptors;
  std::vector<bool> tcp_acceptor_tls;  // per tcp_acceptors entry: speaks TLS
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<UdpListener> udp;
  size_t next_worker = 0;
  std::atomic<bool> stopping{false};
  // no_maxconns_fast (background thread only): accepting stopped at the limit.
  bool listen_disabled = false;
  Clock::time_point listen_disabled_since;
  std::vector<std::function<void()>> parked_accepts;
  bool torn_down = false;
  bool graceful = false;      // background thread only
  uint32_t client_limit = 0;  // set once the listeners are bound

  ~Impl() { teardown(); }

  rel_time_t rel_now() const {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_steady);
    return static_cast<rel_time_t>(start_rel + secs.count());
  }

  // memcached refuses to start when an ext_path cannot be opened. io_uring
  // with O_DIRECT is tried first; when it is refused the store is opened with
  // pread/pwrite, and only a store that opens that way too warns about
  // io_uring — otherwise the file's own error is the one worth reading.
  void open_flash() {
    const ExtConfig& ext = shared.engine.config().ext;
    if (!ext.enabled()) return;
    std::string uring_refusal;
    try {
      flash = open_ext_store(shared.engine, ext, ExtDeviceKind::kUring, kIoThread);
      compactor = std::make_unique<CompactorRunner>(shared, open_compactor_readers(ext, true));
    } catch (const std::exception& e) {
      uring_refusal = e.what();
      flash.reset();
    }
    if (!flash) {
      try {
        flash = open_ext_store(shared.engine, ext, ExtDeviceKind::kFile, kIoThread);
        compactor = std::make_unique<CompactorRunner>(shared, open_compactor_readers(ext, false));
      } catch (const std::exception& e) {
        throw ExtStoreOpenError(std::string("failed to initialize external storage: ") + e.what());
      }
      std::cerr << "warning: extstore via io_uring + O_DIRECT refused (" << uring_refusal
                << "); using pread/pwrite\n";
    }
    shared.flash = flash.get();
  }

  void bind_listeners() {
    if (!config.unix_socket.empty()) {
      ::unlink(config.unix_socket.c_str());
      asio::local::stream_protocol::endpoint ep(config.unix_socket);
      unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(background);
      unix_acceptor->open(ep.protocol());
      unix_acceptor->bind(ep);
      ::chmod(config.unix_socket.c_str(), config.unix_mask);
      unix_acceptor->listen(static_cast<int>(config.backlog));
      register_listener(unix_acceptor->native_handle(), unix_acceptor->local_endpoint());
      return;
    }
    if (config.udp_port != 0) udp = std::make_unique<UdpListener>(background, ctx, config);
    // memcached: -p 0 listens on no TCP port, -p -1 on any free one.
    if (config.port == 0) return;
    std::vector<std::string> addrs = config.listen;
    asio::ip::tcp::resolver resolver(background);
    if (addrs.empty()) addrs.push_back("");
    for (const std::string& addr : addrs) {
      const ListenSpec spec = parse_listen_spec(addr);
      if (spec.notls && !tls) {
        throw std::runtime_error(
            "'notls' option is valid only when SSL is enabled; failed to "
            "listen on one of interface(s) " +
            addr);
      }
      const std::string port =
          std::to_string(spec.port ? *spec.port : (config.port < 0 ? 0 : config.port));
      boost::system::error_code ec;
      std::vector<asio::ip::tcp::endpoint> endpoints;
      if (spec.host.empty()) {
        // As memcached with no -l: every IPv4 address, then every IPv6 one
        // (a v6-only socket), when the host has IPv6 at all.
        const auto tcp_port = static_cast<uint16_t>(std::stoi(port));
        endpoints.emplace_back(asio::ip::address_v4::any(), tcp_port);
        endpoints.emplace_back(asio::ip::address_v6::any(), tcp_port);
      } else {
        auto results = resolver.resolve(spec.host, port, asio::ip::tcp::resolver::passive, ec);
        if (ec) throw std::runtime_error("-l " + addr + ": " + ec.message());
        for (const auto& entry : results) endpoints.push_back(entry.endpoint());
      }
      for (const auto& endpoint : endpoints) {
        auto acceptor = std::make_unique<asio::ip::tcp::acceptor>(background);
        acceptor->open(endpoint.protocol(), ec);
        if (ec && spec.host.empty() && endpoint.address().is_v6()) continue;  // no IPv6 here
        if (ec) throw std::runtime_error("-l " + addr + ": " + ec.message());
        if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
        acceptor->set_option(asio::socket_base::reuse_address(true));
        acceptor->bind(endpoint, ec);
        if (ec) {
          throw std::runtime_error("failed to listen on TCP port " + std::to_string(config.port) +
                                   ": " + ec.message());
        }
        acceptor->listen(static_cast<int>(config.backlog));
        tcp_acceptors.push_back(std::move(acceptor));
        tcp_acceptor_tls.push_back(tls != nullptr && !spec.notls);
      }
    }
    for (const auto& a : tcp_acceptors) register_listener(a->native_handle(), a->local_endpoint());
    std::vector<ListeningPort> ports;
    for (const auto& a : tcp_acceptors) {
      const auto ep = a->local_endpoint();
      ports.push_back({ep.address().is_v6() ? "TCP INET6" : "TCP INET", ep.port()});
    }
    write_port_file(ports);
  }

  template <typename Endpoint>
  void register_listener(int fd, const Endpoint& ep) {
    auto status = std::make_shared<ConnStatus>();
    status->fd = fd;
    status->addr = conn_address_text(ep.data(), ep.size());
    status->state = ConnState::kListening;
    status->touch();
    ctx.conns.add(status);
    if (config.verbose >= 2) log_listening(fd, config.protocol);
  }

  Worker& pick_worker() {
    Worker& w = *workers[next_worker];
    next_worker = (next_worker + 1) % workers.size();
    return w;
  }

  // memcached (maxconns_fast) tells the client and closes when over -c.
  template <typename Socket>
  void admit(Worker& worker, Socket socket, bool speaks_tls = false) {
    if (config.ops.maxconns_fast && ctx.counters.curr_connections.load() >= client_limit) {
      ctx.counters.rejected_connections.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      asio::write(socket, asio::buffer("ERROR Too many open connections\r\n", 33), ignored);
      socket.close(ignored);
      return;
    }
    boost::system::error_code ignored;
    if constexpr (std::is_same_v<Socket, asio::ip::tcp::socket>) {
      socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    // Counted here, on the listeners' thread, so the next accept sees it.
    ctx.counters.curr_connections.fetch_add(1, std::memory_order_relaxed);
    Connection::Socket generic(std::move(socket));
    std::shared_ptr<asio::ssl::context> context = speaks_tls ? tls->current() : nullptr;
    asio::post(worker.io, [this, &worker, context = std::move(context),
                           s = std::make_shared<Connection::Socket>(std::move(generic))]() mutable {
      std::make_shared<Connection>(ctx, worker.reader.get(), &worker.budget, std::move(*s),
                                   std::move(context))
          ->start();
    });
  }

  // -o no_maxconns_fast: memcached's accept fails at its descriptor limit;
  // it then stops accepting (listen backlog 0, listen_disabled_num) and
  // starts again when a connection closes. A client arriving meanwhile waits
  // in the kernel's backlog. Its accept then fails one client later than the
  // maxconns_fast check, which counts the descriptor it would need for a
  // reply. Returns true when `resume` was parked.
  template <typename Acceptor>
  bool park_when_full(Acceptor& acceptor, std::function<void()> resume) {
    if (config.ops.maxconns_fast || ctx.counters.curr_connections.load() < client_limit + 1) {
      return false;
    }
    if (!listen_disabled) {
      listen_disabled = true;
      listen_disabled_since = Clock::now();
      ctx.counters.listen_disabled_num.fetch_add(1, std::memory_order_relaxed);
      ctx.counters.accepting_conns.store(false);
      for (const auto& a : tcp_acceptors) ::listen(a->native_handle(), 0);
      if (unix_acceptor) ::listen(unix_acceptor->native_handle(), 0);
    }
    (void)acceptor;
    parked_accepts.push_back(std::move(resume));
    return true;
  }

  // A connection closed (posted to `background`).
  void resume_listening() {
    if (!listen_disabled || stopping) return;
    listen_disabled = false;
    const auto off =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - listen_disabled_since);
    ctx.counters.time_in_listen_disabled_us.fetch_add(static_cast<uint64_t>(off.count()),
                                                      std::memory_order_relaxed);
    ctx.counters.accepting_conns.store(true);
    for (const auto& a : tcp_acceptors)
      ::listen(a->native_handle(), static_cast<int>(config.backlog));
    if (unix_acceptor) ::listen(unix_acceptor->native_handle(), static_cast<int>(config.backlog));
    std::vector<std::function<void()>> resumes;
    resumes.swap(parked_accepts);
    for (auto& resume : resumes) resume();
  }

  void accept_tcp(asio::ip::tcp::acceptor& acceptor, bool speaks_tls) {
    if (!config.ops.maxconns_fast) {
      // Accept only once a client waits, to decide then whether there is room.
      acceptor.async_wait(asio::socket_base::wait_read,
                          [this, &acceptor, speaks_tls](const boost::system::error_code& ec) {
                            if (stopping || ec) return;
                            if (park_when_full(acceptor, [this, &acceptor, speaks_tls] {
                                  accept_tcp_now(acceptor, speaks_tls);
                                })) {
                              return;
                            }
                            accept_tcp_now(acceptor, speaks_tls);
                          });
      return;
    }
    accept_tcp_now(acceptor, speaks_tls);
  }

  void accept_tcp_now(asio::ip::tcp::acceptor& acceptor, bool speaks_tls) {
    Worker& worker = pick_worker();
    acceptor.async_accept(
        worker.io, [this, &acceptor, &worker, speaks_tls](const boost::system::error_code& ec,
                                                          asio::ip::tcp::socket socket) {
          if (stopping) return;
          if (!ec) admit(worker, std::move(socket), speaks_tls);
          accept_tcp(acceptor, speaks_tls);
        });
  }

  void accept_unix() {
    if (!config.ops.maxconns_fast) {
      unix_acceptor->async_wait(
          asio::socket_base::wait_read, [this](const boost::system::error_code& ec) {
            if (stopping || ec) return;
            if (park_when_full(*unix_acceptor, [this] { accept_unix_now(); })) {
              return;
            }
            accept_unix_now();
          });
      return;
    }
    accept_unix_now();
  }

  void accept_unix_now() {
    Worker& worker = pick_worker();
    unix_acceptor->async_accept(worker.io, [this, &worker](const boost::system::error_code& ec,
                                                           asio::local::stream_protocol::socket s) {
      if (stopping) return;
      if (!ec) admit(worker, std::move(s));
      accept_unix();
    });
  }

  void stop_steps() {
    steps.stop();
    flusher_steps.stop();
    compactor_steps.stop();
  }

  // Stops the io_contexts (run() returns); safe to call from a handler on
  // `background`.
  void shutdown() {
    if (stopping.exchange(true)) return;
    close_listeners();
    signals.cancel();
    stop_steps();
    for (auto& w : workers) w->io.stop();
    background.stop();
  }

  void close_listeners() {
    boost::system::error_code ignored;
    for (auto& a : tcp_acceptors) a->close(ignored);
    if (udp) udp->close();
    if (unix_acceptor && unix_acceptor->is_open()) {
      unix_acceptor->close(ignored);
      ::unlink(config.unix_socket.c_str());
    }
  }

  // Frees everything a handler could still use, users before what they use,
  // once no thread runs an io_context any more. Idempotent.
  void teardown() {
    if (torn_down) return;
    torn_down = true;
    stopping = true;
    // The logger thread posts to the workers' io_contexts: it stops first.
    ctx.logger.stop();
    {
      std::lock_guard lock(shared.mutex);
      shared.engine.set_event_sink(nullptr);
    }
    for (auto& w : workers) {
      w->io.stop();
      if (w->thread.joinable()) w->thread.join();
    }
    // Every request is in the recorder's buffers now: the last file ends complete.
    ctx.recorder.stop();
    stop_steps();
    if constexpr (lock_hold_stats_enabled()) std::cerr << lock_hold_stats().report();
    // Closing the listeners and the signal_set completes their pending
    // operations with operation_aborted; running them now (they see
    // `stopping`) frees the accepted peer sockets while the workers'
    // io_contexts they belong to still exist.
    close_listeners();
    signals.cancel();
    background.restart();
    background.poll();
    tcp_acceptors.clear();
    unix_acceptor.reset();
    // The workers' UDP descriptors belong to their io_contexts.
    udp.reset();
    // Each worker: its reader (whose ring watcher lives on the io_context and
    // whose in-flight reads hold connections), then its io_context, which
    // destroys the handlers still queued and with them the last references
    // to its connections — while ctx, shared and flash are still here.
    for (auto& w : workers) w->reader.reset();
    workers.clear();
    shared.flash = nullptr;
    compactor.reset();
    flash.reset();
  }
};

Server::Server(const ServerConfig& config, std::optional<int64_t> restored_process_started)
    : impl_(std::make_unique<Impl>(config, restored_process_started)) {
  Impl& s = *impl_;
  raise_fd_limit(config.max_connections);
  // memcached loads the certificates before it binds, and as the user it
  // starts as (refresh_certs later reads them as -u's user).
  if (config.tls.enabled) {
    s.tls = std::make_unique<TlsContext>(config.tls);
    s.ctx.tls = s.tls.get();
  }
  // memcached's crawler and maintainer threads say so at -vvv as they start,
  // before the listeners are up.
  if (config.verbose >= 3) {
    if (config.engine.lru_crawler) std::fprintf(stderr, "Starting LRU crawler background thread\n");
    if (config.engine.lru_maintainer) {
      std::fprintf(stderr, "Starting LRU maintainer background thread\n");
    }
  }
  drop_privileges(config.user);
  // As memcached: after the privileges are dropped (the files are read as
  // the -u user), SASL before the auth file.
  if (config.sasl) init_sasl(s.ctx.verbosity);
  if (config.ascii_auth) {
    auto users = std::make_unique<AuthFile>();
    users->load(config.auth_file);
    s.ctx.auth_file = std::move(users);
  }
  s.open_flash();
  {
    std::lock_guard lock(s.shared.mutex);
    s.shared.engine.set_time(s.rel_now());
    if (restored_process_started) load_memory_file(config, s.shared.engine);
    s.shared.engine.set_event_sink(&s.ctx.logger);
  }
  s.ctx.logger.set_stderr_lookups(config.verbose >= 3);
  s.ctx.logger.start();
  if (config.record_at_start) {
    if (std::string problem = s.ctx.recorder.start(config.record); !problem.empty()) {
      throw std::runtime_error("-o record_path=" + config.record.prefix + ": " + problem);
    }
  }
  const std::vector<ExtPathConfig>& paths = s.shared.engine.config().ext.paths;
  std::string fallback;
  for (uint32_t i = 0; i < config.threads; ++i) {
    auto w = std::make_unique<Worker>(config.ops.read_buf_mem_limit, config.threads);
    if (s.flash) {
      w->reader = std::make_unique<FlashReader>(w->io, s.shared, paths, true);
      if (!w->reader->use_uring()) fallback = w->reader->fallback_reason();
    }
    s.ctx.buffer_budgets.push_back(&w->budget);
    s.workers.push_back(std::move(w));
  }
  if (!fallback.empty()) {
    std::cerr << "warning: flash reads use synchronous pread on the worker threads (" << fallback
              << ")\n";
  }
  if (s.shared.engine.config().lru_maintainer) {
    s.maintainer = std::make_unique<LruMaintainer>(s.shared.engine);
  }
  // Always there: `lru_crawler enable` starts a crawler disabled at startup.
  s.crawler = std::make_unique<LruCrawler>(s.shared.engine);
  s.shared.crawler = s.crawler.get();
  // memcached starts its rebalancer thread whenever slab_reassign is on.
  if (s.shared.engine.config().slab_reassign) {
    s.rebalancer = std::make_unique<SlabRebalancer>(s.shared.engine);
  }
  // Listening last, as memcached 1.6.18 (setuid, ext_path files, threads,
  // then bind): the kernel completes connections on a bound socket before
  // any accept, so a client must not reach a server whose store is not open
  // yet (nor one that is about to fail to open it).
  s.bind_listeners();
  s.ctx.listening_conns = s.tcp_acceptors.size() + (s.unix_acceptor ? 1 : 0);
  s.ctx.counters.total_connections.fetch_add(s.ctx.listening_conns, std::memory_order_relaxed);
  s.client_limit = memcached_client_limit(config.max_connections, config.threads,
                                          s.tcp_acceptors.size() + (s.unix_acceptor ? 1 : 0),
                                          config.engine.ext.paths.size());
}

Server::~Server() = default;

void Server::run() {
  Impl& s = *impl_;
  s.signals.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    impl_->graceful = signal == SIGUSR1;
    impl_->shutdown();
  });
  if (!s.config.ops.maxconns_fast) {
    s.ctx.connection_closed = [&s] {
      if (!s.stopping) asio::post(s.background, [&s] { s.resume_listening(); });
    };
  }
  for (size_t i = 0; i < s.tcp_acceptors.size(); ++i) {
    s.accept_tcp(*s.tcp_acceptors[i], s.tcp_acceptor_tls[i]);
  }
  if (s.unix_acceptor) s.accept_unix();
  if (s.udp) {
    for (auto& w : s.workers) s.udp->start(w->io, &w->budget);
  }
  // The clock first, so the other steps of a wake-up see this second.
  s.steps.add([&s](Micros now) {
    ExclusiveSection lock(s.shared.mutex, Holder::kClock);
    s.shared.engine.set_time(s.rel_now());
    if (s.flash) {
      PageStoreStats store = s.flash->stats(false).store;
      std::string line =
          s.write_error_log.observe(store.write_errors, store.last_write_result, now);
      // Printed on the listeners' thread: a stalled stderr must not hold the engine lock.
      if (!line.empty()) {
        asio::post(s.background,
                   [line = std::move(line)] { std::cerr << "memext-server: " << line; });
      }
    }
    // glibc keeps what closed connections freed in the worker threads' arenas
    // (an arena shrinks only from its top, rarely free): after many
    // connections went away, hand the free pages back, on the listeners'
    // thread rather than under the engine lock.
    const uint64_t open = s.ctx.counters.curr_connections.load(std::memory_order_relaxed);
    s.connections_peak = std::max(s.connections_peak, open);
    if (s.connections_peak >= open + kTrimAfterClosing) {
      s.connections_peak = open;
      asio::post(s.background, [] { ::malloc_trim(0); });
    }
    return now + 1'000'000;
  });
  if (s.maintainer) {
    // Beside the workers' gets when it can be (as memcached's maintainer
    // juggles under per-LRU locks), else what is left under the exclusive side.
    s.steps.add([&s](Micros now) {
      {
        MutatorSection lock(s.shared.mutex, Holder::kLruMaintainerBeside);
        if (std::optional<Micros> next = s.maintainer->try_step_beside_readers(now)) return *next;
      }
      ExclusiveSection lock(s.shared.mutex, Holder::kLruMaintainer);
      return s.maintainer->step(now);
    });
  }
  // memcached wakes its crawler thread on a request at once; polling every
  // 10 ms starts a manual crawl nearly as soon.
  s.steps.add([&s](Micros now) {
    ExclusiveSection lock(s.shared.mutex, Holder::kCrawler);
    return std::min(s.crawler->step(now), now + 10'000);
  });
  // memcached signals its rebalancer thread on a request; polling every
  // 10 ms while idle starts a move nearly as soon.
  if (s.rebalancer) {
    s.steps.add([&s](Micros now) {
      ExclusiveSection lock(s.shared.mutex, Holder::kRebalancer);
      return std::min(s.rebalancer->step(now), now + 10'000);
    });
  }
  s.steps.start();
  if (s.flash) {
    s.flusher_steps.add([&s](Micros now) {
      ExclusiveSection lock(s.shared.mutex, Holder::kFlusher);
      return s.flash->flusher_step(now);
    });
    s.compactor_steps.add([&s](Micros now) { return s.compactor->step(now); });
    s.flusher_steps.start();
    s.compactor_steps.start();
  }
  for (auto& w : s.workers) {
    Worker* worker = w.get();
    worker->thread = std::thread([worker] {
      auto guard = asio::make_work_guard(worker->io);
      worker->io.run();
    });
  }
  s.background.run();
  s.teardown();
  // memcached's restartable cache keeps its items only across a graceful stop.
  if (s.graceful && !s.config.ops.memory_file.empty()) {
    std::lock_guard lock(s.shared.mutex);
    save_memory_file(s.config, s.shared.engine, s.rel_now(), s.started_unix);
  }
}

bool Server::stopped_gracefully() const {
  return impl_->graceful;
}

void Server::stop() {
  asio::post(impl_->background, [this] { impl_->shutdown(); });
}

}  // namespace memext::server
