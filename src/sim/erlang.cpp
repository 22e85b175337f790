// Erlang B / C / A staffing maths. The method and its error bounds are described in erlang.h.
#include "sim/erlang.h"

#include <algorithm>
#include <cmath>

namespace parley::sim {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kSecondsPerHour = 3600.0;

// P(S_k <= T) for k = 0..ks-1, where S_k = sum_{i=1..k+1} Exp(cmu + i theta) is the wait of a
// caller answered after arriving with k callers ahead. Uses the identity in erlang.h:
//   P(S_k <= T) = P(NegBin(alpha = cmu / theta + 1, success = e^{-theta T}) >= k + 1),
// one running sum of the negative-binomial pmf, kept in log space so nothing underflows early.
std::vector<double> answeredWaitCdf(double cmu, double theta, std::size_t ks, double t) {
  std::vector<double> cdf(ks, 0.0);
  if (t <= 0) return cdf;
  const double alpha = cmu / theta + 1.0;
  const double log_fail = std::log(-std::expm1(-theta * t));  // log(1 - e^{-theta T}), accurate
  double log_pmf = -alpha * theta * t;  // log P(NegBin = 0) = alpha log(e^{-theta T})
  double below = 0;                     // P(NegBin <= k)
  for (std::size_t k = 0; k < ks; ++k) {
    below += std::exp(log_pmf);
    cdf[k] = std::clamp(1.0 - below, 0.0, 1.0);
    const double kd = static_cast<double>(k);
    log_pmf += std::log((alpha + kd) / (kd + 1.0)) + log_fail;  // pmf(k + 1) / pmf(k)
  }
  return cdf;
}

StaffingResult unstableErlangC(StaffingResult r) {
  r.stable = false;
  r.p_wait = 1.0;
  r.occupancy = 1.0;
  r.service_level = 0.0;
  r.service_level_answered = 0.0;
  r.asa_seconds = kInf;
  r.mean_wait_seconds = kInf;
  r.abandon_rate = 0.0;
  return r;
}

}  // namespace

double erlangB(int agents, double load_erlangs) {
  double b = 1.0;
  for (int k = 1; k <= agents; ++k) {
    const double ab = load_erlangs * b;
    b = ab / (static_cast<double>(k) + ab);
  }
  return b;
}

double erlangC(int agents, double load_erlangs) {
  const double c = static_cast<double>(agents);
  if (load_erlangs >= c) return 1.0;
  const double b = erlangB(agents, load_erlangs);
  return c * b / (c - load_erlangs * (1.0 - b));
}

std::optional<std::string> validate(const StaffingInput& input, bool check_agents) {
  if (check_agents && (input.agents < 1 || input.agents > kMaxAgents)) {
    return "agents must be between 1 and " + std::to_string(kMaxAgents);
  }
  if (!std::isfinite(input.calls_per_hour) || input.calls_per_hour <= 0) {
    return std::string("calls per hour must be a positive number");
  }
  if (!std::isfinite(input.aht_seconds) || input.aht_seconds <= 0) {
    return std::string("AHT must be a positive number of seconds");
  }
  if (!std::isfinite(input.sl_seconds) || input.sl_seconds < 0) {
    return std::string("service-level threshold must be zero or more seconds");
  }
  if (!(input.calls_per_hour / kSecondsPerHour * input.aht_seconds <= kMaxLoadErlangs)) {
    return "offered load (calls per hour x AHT / 3600) must be at most " +
           std::to_string(static_cast<int>(kMaxLoadErlangs)) + " Erlangs";
  }
  if (input.patience_seconds &&
      (!std::isfinite(*input.patience_seconds) || *input.patience_seconds <= 0)) {
    return std::string("patience must be a positive number of seconds");
  }
  return std::nullopt;
}

StaffingResult erlangCMetrics(const StaffingInput& input) {
  const double lambda = input.calls_per_hour / kSecondsPerHour;
  const double mu = 1.0 / input.aht_seconds;
  const double c = static_cast<double>(input.agents);
  StaffingResult r;
  r.model = StaffingModel::ErlangC;
  r.agents = input.agents;
  r.load_erlangs = lambda * input.aht_seconds;
  if (r.load_erlangs >= c) return unstableErlangC(r);

  const double gap = c * mu - lambda;  // > 0: drain rate of the queue when all agents are busy
  r.p_wait = erlangC(input.agents, r.load_erlangs);
  r.occupancy = r.load_erlangs / c;
  r.service_level = std::clamp(1.0 - r.p_wait * std::exp(-gap * input.sl_seconds), 0.0, 1.0);
  r.service_level_answered = r.service_level;
  r.asa_seconds = r.p_wait / gap;
  r.mean_wait_seconds = r.asa_seconds;
  return r;
}

std::vector<double> erlangAStateProbabilities(int agents, double lambda, double mu, double theta,
                                              bool* truncated_out) {
  const double c = static_cast<double>(agents);
  auto death = [&](std::size_t n) {
    const double nd = static_cast<double>(n);
    return std::min(nd, c) * mu + std::max(nd - c, 0.0) * theta;
  };
  // Log weights relative to p_0; `sum` is the total weight scaled by exp(-max_log).
  std::vector<double> log_w{0.0};
  double max_log = 0.0;
  double sum = 1.0;
  bool truncated = false;
  for (std::size_t n = 1;; ++n) {
    const double lw = log_w.back() + std::log(lambda / death(n));
    log_w.push_back(lw);
    if (lw > max_log) {
      sum = sum * std::exp(max_log - lw) + 1.0;
      max_log = lw;
    } else {
      sum += std::exp(lw - max_log);
    }
    if (static_cast<double>(n) >= c) {
      // Death rates only grow, so the rest of the tail is below a geometric series in r.
      const double r = lambda / death(n + 1);
      if (r < 1.0 && std::exp(lw - max_log) * r / (1.0 - r) <= kErlangATailTolerance * sum) break;
    }
    if (log_w.size() >= kErlangAMaxStates) {
      truncated = true;
      break;
    }
  }
  if (truncated_out != nullptr) *truncated_out = truncated;
  std::vector<double> p(log_w.size());
  for (std::size_t n = 0; n < p.size(); ++n) p[n] = std::exp(log_w[n] - max_log) / sum;
  return p;
}

StaffingResult erlangAMetrics(const StaffingInput& input) {
  const double lambda = input.calls_per_hour / kSecondsPerHour;
  const double mu = 1.0 / input.aht_seconds;
  const double theta = 1.0 / *input.patience_seconds;
  const auto c = static_cast<std::size_t>(input.agents);
  const double cmu = static_cast<double>(c) * mu;

  StaffingResult r;
  r.model = StaffingModel::ErlangA;
  r.agents = input.agents;
  r.load_erlangs = lambda * input.aht_seconds;
  const std::vector<double> p =
      erlangAStateProbabilities(input.agents, lambda, mu, theta, &r.tail_truncated);

  double busy = 0;       // E[min(N, c)]
  double queued = 0;     // E[(N - c)^+]
  double immediate = 0;  // P(N < c): answered with zero wait
  for (std::size_t n = 0; n < p.size(); ++n) {
    if (n < c) {
      busy += static_cast<double>(n) * p[n];
      immediate += p[n];
    } else {
      busy += static_cast<double>(c) * p[n];
      queued += static_cast<double>(n - c) * p[n];
    }
  }
  const std::size_t ks = p.size() > c ? p.size() - c : 0;  // arrival states with k = 0.. ahead
  const std::vector<double> within = answeredWaitCdf(cmu, theta, ks, input.sl_seconds);

  double abandon = 0;          // P(abandon)
  double answered_wait = 0;    // E[W; answered]
  double answered_within = 0;  // P(answered after waiting, wait <= T)
  double phase_mean = 0;       // E[S_k] = sum_{j<=k} 1 / r_j
  for (std::size_t k = 0; k < ks; ++k) {
    const double pk = p[c + k];
    const double out_rate = static_cast<double>(k + 1) * theta;
    phase_mean += 1.0 / (cmu + out_rate);
    const double answered_k = cmu / (cmu + out_rate);
    abandon += pk * (1.0 - answered_k);
    answered_wait += pk * answered_k * phase_mean;
    answered_within += pk * answered_k * within[k];
  }
  const double answered = 1.0 - abandon;

  r.occupancy = busy / static_cast<double>(c);
  r.p_wait = 1.0 - immediate;
  r.abandon_rate = abandon;
  r.service_level = std::clamp(immediate + answered_within, 0.0, 1.0);
  r.service_level_answered = answered > 0 ? std::min(r.service_level / answered, 1.0) : 0.0;
  r.asa_seconds = answered > 0 ? answered_wait / answered : kInf;
  r.mean_wait_seconds = queued / lambda;  // Little's law on the queue
  return r;
}

StaffingResult staffingMetrics(const StaffingInput& input) {
  return input.patience_seconds ? erlangAMetrics(input) : erlangCMetrics(input);
}

std::optional<StaffingTarget> agentsForTarget(double calls_per_hour, double aht_seconds,
                                              double sl_seconds, double target_sl,
                                              std::optional<double> patience_seconds) {
  StaffingInput input{0, calls_per_hour, aht_seconds, sl_seconds, patience_seconds};
  auto meets = [&](int agents) {
    input.agents = agents;
    return staffingMetrics(input).service_level >= target_sl;
  };
  // Erlang C needs c > A to be stable at all; Erlang A can start from one agent.
  const double load = calls_per_hour / kSecondsPerHour * aht_seconds;
  const double first = patience_seconds ? 1.0 : std::floor(load) + 1.0;
  if (first > kMaxAgents) return std::nullopt;
  int fail = static_cast<int>(first) - 1;  // largest count known to miss (or below the range)
  int pass = static_cast<int>(first);
  // Gallop up from `first`, then bisect (fail, pass].
  for (int step = 1; !meets(pass); step *= 2) {
    if (pass == kMaxAgents) return std::nullopt;
    fail = pass;
    pass = static_cast<int>(std::min<long long>(static_cast<long long>(pass) + step, kMaxAgents));
  }
  while (pass - fail > 1) {
    const int mid = fail + (pass - fail) / 2;
    (meets(mid) ? pass : fail) = mid;
  }
  input.agents = pass;
  return StaffingTarget{pass, staffingMetrics(input)};
}

}  // namespace parley::sim
