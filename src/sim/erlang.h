// Staffing maths: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M) for one queue.
//
// Pure functions on doubles; no I/O, no state, safe from any thread. Every formula and the
// numerical method behind it is written out in docs/STAFFING.md.
//
// Model. Calls arrive as a Poisson process at rate lambda = calls_per_hour / 3600 per second;
// handling times are exponential with mean AHT, so mu = 1 / AHT; c identical agents serve one
// FCFS queue. The offered load is A = lambda / mu Erlangs. Erlang A adds exponential patience
// with mean P seconds (theta = 1 / P): a waiting caller abandons at rate theta.
//
// Numerical method.
//  * Erlang B by the recursion B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)); every B(k) lies in
//    [0, 1], so nothing overflows for any c or A (no factorials, no powers).
//  * Erlang C from Erlang B: C = c B / (c - A (1 - B)) when A < c.
//  * Erlang A from the birth-death chain on n = number in system: birth rate lambda, death rate
//    min(n, c) mu + max(n - c, 0) theta. Stationary weights are accumulated in log space
//    (log p_n = log p_{n-1} + log(lambda / death_n)), so loads of thousands of Erlangs do not
//    overflow. The chain is cut at the first n >= c where the death rate exceeds lambda and the
//    geometric bound on the rest of the tail, p_n r / (1 - r) with r = lambda / death_{n+1}, is
//    below kErlangATailTolerance of the mass so far. Because theta > 0 the chain is stable for
//    any load, including A >= c.
//  * Erlang A waiting times. By PASTA a caller arriving to n < c is answered at once; one
//    arriving to n = c + k has k callers ahead and must see k + 1 departures from the head of the
//    queue. In phase j (j callers ahead, j = k..0) the head moves at rate c mu + j theta (a
//    service completion or an abandonment ahead) while the tagged caller abandons at rate theta,
//    so each phase lasts Exp(r_j), r_j = c mu + (j + 1) theta, independently of how it ends.
//    Hence P(answered | k) = prod_j (c mu + j theta) / r_j = c mu / (c mu + (k + 1) theta), the
//    answered wait is S_k = sum_{j=0..k} Exp(r_j), and E[S_k] = sum_j 1 / r_j.
//    P(S_k <= T) comes from an exact identity rather than a time-stepping scheme. With
//    n = k + 1, a = c mu and alpha = a / theta + 1, the Laplace transform of S_k is
//        prod_{i=1..n} (a + i theta) / (a + i theta + s) = B(alpha + s / theta, n) / B(alpha, n)
//                                                      = E[U^{s / theta}],  U ~ Beta(alpha, n),
//    so S_k has the law of -ln(U) / theta and P(S_k <= T) = 1 - I_x(alpha, n), x = e^{-theta T}
//    (the regularised incomplete beta). For whole n, I_x(alpha, n) is the probability that a
//    negative binomial count of failures (probability 1 - x each) before the alpha-th success
//    is at most n - 1 (alpha may be fractional; the pmf uses Gamma functions). Therefore
//        P(S_k <= T) = P(NegBin(alpha, x) >= k + 1),
//    and one running sum of the negative-binomial pmf, in log space through the ratio
//    pmf(j + 1) / pmf(j) = (alpha + j) (1 - x) / (j + 1), gives every k in O(number of states)
//    with only rounding error (absolute, about 1e-16 per state). As theta -> 0 this becomes
//    P(Poisson(c mu T) >= k + 1), the Erlang C answer. The unit tests check it against a
//    Runge-Kutta solution of the phase chain built independently.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace parley::sim {

// Largest agent count the calculators accept (the maths is O(c) and stays accurate well past
// this; the limit only keeps a typo from running for minutes).
inline constexpr int kMaxAgents = 100000;
// Largest offered load (Erlangs) accepted; a bigger load could not be staffed within kMaxAgents.
inline constexpr double kMaxLoadErlangs = kMaxAgents;
// Relative mass of the Erlang A state distribution that may be cut from the tail.
inline constexpr double kErlangATailTolerance = 1e-13;
// Hard cap on Erlang A chain length (very long patience with load >= c); beyond it the result
// is flagged `tail_truncated`.
inline constexpr std::size_t kErlangAMaxStates = 1'000'000;

// Erlang B blocking probability for `agents` servers and `load_erlangs` offered load.
// Preconditions: agents >= 0, load_erlangs >= 0.
double erlangB(int agents, double load_erlangs);

// Erlang C probability that a caller waits, P(W > 0), for the M/M/c queue. Returns 1 when
// load_erlangs >= agents (the queue grows without bound). Preconditions: agents >= 1,
// load_erlangs >= 0.
double erlangC(int agents, double load_erlangs);

// One staffing question. Times are seconds; patience unset means Erlang C (nobody abandons).
struct StaffingInput {
  int agents = 0;
  double calls_per_hour = 0;
  double aht_seconds = 0;
  double sl_seconds = 0;  // service-level threshold T
  std::optional<double> patience_seconds;
};

// Checks the ranges the calculators need: 1 <= agents <= kMaxAgents, calls_per_hour > 0,
// aht_seconds > 0, sl_seconds >= 0, patience_seconds > 0 when set, all finite, and offered
// load <= kMaxLoadErlangs. Returns a
// message naming the first bad field, or nullopt when the input is usable.
// `check_agents` false skips the agent check (for agentsForTarget, which chooses them).
std::optional<std::string> validate(const StaffingInput& input, bool check_agents = true);

enum class StaffingModel { ErlangC, ErlangA };

// Steady-state performance of one staffing level. Service level follows the definitions in
// docs/STAFFING.md (and the live statistics in src/engine/stats.h):
//   service_level          = P(answered with wait <= T) over all offered calls;
//   service_level_answered = P(wait <= T | answered).
// For Erlang C nobody abandons, so the two are equal.
struct StaffingResult {
  StaffingModel model = StaffingModel::ErlangC;
  int agents = 0;
  double load_erlangs = 0;  // A = lambda * AHT
  double occupancy = 0;     // mean busy agents / agents (A / c for Erlang C, capped at 1)
  double p_wait = 0;        // P(W > 0): probability an arriving caller finds all agents busy
  double service_level = 0;
  double service_level_answered = 0;
  double asa_seconds = 0;        // mean wait of answered callers (inf when unstable)
  double mean_wait_seconds = 0;  // mean wait of all offered callers, abandoned ones included
  double abandon_rate = 0;       // P(abandon); 0 for Erlang C
  // Erlang C only: false when load >= agents. Then p_wait = 1, service levels = 0,
  // ASA = mean wait = +inf and occupancy = 1. Erlang A is always stable.
  bool stable = true;
  bool tail_truncated = false;  // Erlang A hit kErlangAMaxStates; tail mass was dropped
};

// Erlang C (M/M/c) metrics. Precondition: validate(input) is nullopt; patience is ignored.
StaffingResult erlangCMetrics(const StaffingInput& input);

// Erlang A (M/M/c+M) metrics. Precondition: validate(input) is nullopt and patience is set.
StaffingResult erlangAMetrics(const StaffingInput& input);

// Erlang A when patience is set, otherwise Erlang C. Precondition: validate(input) is nullopt.
StaffingResult staffingMetrics(const StaffingInput& input);

// Stationary distribution of the number in system for M/M/c+M (index = n), cut as described
// above. Exposed for tests and the simulator's cross-checks. Preconditions: agents >= 1,
// lambda, mu > 0 and theta > 0 (per second). `truncated_out`, when given, is set to whether
// kErlangAMaxStates was hit.
std::vector<double> erlangAStateProbabilities(int agents, double lambda, double mu, double theta,
                                              bool* truncated_out = nullptr);

// Smallest agent count whose service_level (over offered) is >= target_sl, and the metrics at
// that count; nullopt if even kMaxAgents agents miss the target. Uses Erlang A when patience is
// given. Relies on service_level increasing with agents (true for both models; tested).
// Preconditions: validate({0, calls_per_hour, aht, sl_seconds, patience}, false) is nullopt and
// 0 < target_sl < 1.
struct StaffingTarget {
  int agents = 0;
  StaffingResult result;
};
std::optional<StaffingTarget> agentsForTarget(double calls_per_hour, double aht_seconds,
                                              double sl_seconds, double target_sl,
                                              std::optional<double> patience_seconds = {});

}  // namespace parley::sim
