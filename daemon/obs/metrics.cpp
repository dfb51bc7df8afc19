#include "obs/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace mediax::metrics {

namespace {

void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

bool valid_name(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string escape_help(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* type_name(int t) {
  switch (t) {
    case 0: return "counter";
    case 1: return "gauge";
    default: return "histogram";
  }
}

// Adds one label to a rendered label set ("" or {a="x"}).
std::string with_label(const std::string& set, const std::string& name, const std::string& value) {
  std::string l = name + "=\"" + escape_label_value(value) + "\"";
  if (set.empty()) return "{" + l + "}";
  return set.substr(0, set.size() - 1) + "," + l + "}";
}

}  // namespace

void Counter::inc(double by) {
  if (by < 0) return;  // counters only go up
  atomic_add(value_, by);
}

void Gauge::add(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative(std::size_t i) const {
  std::uint64_t n = 0;
  for (std::size_t j = 0; j <= i && j <= bounds_.size(); ++j) n += buckets_[j].load(std::memory_order_relaxed);
  return n;
}

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_labels(const Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (!valid_name(labels[i].first)) throw std::invalid_argument("bad metric label name '" + labels[i].first + "'");
    if (i) out += ",";
    out += labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  }
  return out + "}";
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Shortest representation that reads back the same.
  for (int prec = 1; prec <= 17; ++prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) return b;
  }
  return buf;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return b;
}

Registry::Family& Registry::family(const std::string& name, Type type, const std::string& help) {
  if (!valid_name(name)) throw std::invalid_argument("bad metric name '" + name + "'");
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.type = type;
    it->second.help = help;
  } else if (it->second.type != type) {
    throw std::invalid_argument("metric '" + name + "' is already registered with another type");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  auto key = format_labels(labels);
  std::lock_guard lk(mu_);
  auto& slot = family(name, Type::counter, help).counters[key];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  auto key = format_labels(labels);
  std::lock_guard lk(mu_);
  auto& slot = family(name, Type::gauge, help).gauges[key];
  if (!slot) slot = std::make_unique<Gauge>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                               const Labels& labels) {
  for (const auto& l : labels) {
    if (l.first == "le") throw std::invalid_argument("histogram label 'le' is reserved");
  }
  auto key = format_labels(labels);
  std::lock_guard lk(mu_);
  auto& slot = family(name, Type::histogram, help).histograms[key];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Registry::clear_gauge(const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = families_.find(name);
  // References handed out stay valid only until cleared: collectors set values right away.
  if (it != families_.end() && it->second.type == Type::gauge) it->second.gauges.clear();
}

void Registry::set_gauges(const std::string& name, const std::string& help,
                          const std::vector<std::pair<Labels, double>>& values) {
  clear_gauge(name);
  for (const auto& [labels, v] : values) gauge(name, help, labels).set(v);
}

std::uint64_t Registry::add_collector(std::function<void(Registry&)> collect) {
  std::lock_guard lk(collectors_mu_);
  auto id = next_collector_++;
  collectors_.emplace(id, std::move(collect));
  return id;
}

void Registry::remove_collector(std::uint64_t id) {
  std::lock_guard lk(collectors_mu_);
  collectors_.erase(id);
}

std::string Registry::render() {
  {
    std::lock_guard lk(collectors_mu_);
    for (auto& [id, c] : collectors_) c(*this);
  }
  std::lock_guard lk(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_name(static_cast<int>(f.type)) + "\n";
    for (const auto& [labels, c] : f.counters) out += name + labels + " " + format_value(c->value()) + "\n";
    for (const auto& [labels, g] : f.gauges) out += name + labels + " " + format_value(g->value()) + "\n";
    for (const auto& [labels, h] : f.histograms) {
      const auto& b = h->bounds();
      for (std::size_t i = 0; i <= b.size(); ++i) {
        std::string le = i < b.size() ? format_value(b[i]) : "+Inf";
        out += name + "_bucket" + with_label(labels, "le", le) + " " + std::to_string(h->cumulative(i)) + "\n";
      }
      out += name + "_sum" + labels + " " + format_value(h->sum()) + "\n";
      out += name + "_count" + labels + " " + std::to_string(h->cumulative(b.size())) + "\n";
    }
  }
  return out;
}

}  // namespace mediax::metrics
