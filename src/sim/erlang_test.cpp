// Erlang B / C / A against closed forms, independent naive computations and limit cases.
#include "sim/erlang.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace parley::sim {
namespace {

// Naive Erlang C from the textbook sum with long double factorials (fine for small c).
long double naiveErlangC(int c, long double a) {
  long double term = 1;  // a^k / k!
  long double sum = 0;
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const long double top = term * c / (c - a);  // a^c / c! * c / (c - a)
  return top / (sum + top);
}

// Erlang C in log space with lgamma, independent of the Erlang B recursion (any c).
long double logSpaceErlangC(int c, long double a) {
  std::vector<long double> logs;
  for (int k = 0; k < c; ++k) logs.push_back(k * std::log(a) - std::lgamma(k + 1.0L));
  const long double log_top =
      c * std::log(a) - std::lgamma(c + 1.0L) + std::log(static_cast<long double>(c) / (c - a));
  logs.push_back(log_top);
  long double mx = logs[0];
  for (long double v : logs) mx = std::max(mx, v);
  long double sum = 0;
  for (long double v : logs) sum += std::exp(v - mx);
  return std::exp(log_top - mx) / sum;
}

StaffingInput input(int agents, double cph, double aht, double t,
                    std::optional<double> patience = {}) {
  return StaffingInput{agents, cph, aht, t, patience};
}

TEST(ErlangB, KnownValues) {
  EXPECT_DOUBLE_EQ(erlangB(1, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(erlangB(0, 3.0), 1.0);
  EXPECT_NEAR(erlangB(2, 1.0), 0.2, 1e-15);
  EXPECT_NEAR(erlangB(3, 2.0), 4.0 / 19.0, 1e-15);  // (8/6) / (1 + 2 + 2 + 8/6)
}

TEST(ErlangC, TwoErlangsOnThreeAgentsWaitFourNinths) {
  EXPECT_NEAR(erlangC(3, 2.0), 4.0 / 9.0, 1e-15);
}

TEST(ErlangC, MetricsFollowFromProbabilityOfWaiting) {
  // 240 calls/h, AHT 30 s: lambda = 1/15, mu = 1/30, A = 2 on 3 agents.
  const StaffingResult r = erlangCMetrics(input(3, 240, 30, 20));
  EXPECT_TRUE(r.stable);
  EXPECT_NEAR(r.load_erlangs, 2.0, 1e-12);
  EXPECT_NEAR(r.occupancy, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(r.p_wait, 4.0 / 9.0, 1e-12);
  EXPECT_NEAR(r.service_level, 1.0 - 4.0 / 9.0 * std::exp(-20.0 / 30.0), 1e-12);
  EXPECT_NEAR(r.asa_seconds, (4.0 / 9.0) * 30.0, 1e-9);  // C / (c mu - lambda) = C / (1/30)
  EXPECT_DOUBLE_EQ(r.service_level_answered, r.service_level);
  EXPECT_DOUBLE_EQ(r.abandon_rate, 0.0);
}

TEST(ErlangC, MatchesNaiveFactorialSumForSmallTeams) {
  for (int c = 1; c <= 40; ++c) {
    for (double a : {0.1, 0.5 * c, 0.9 * c, c - 0.01}) {
      EXPECT_NEAR(erlangC(c, a), static_cast<double>(naiveErlangC(c, a)), 1e-12)
          << "c=" << c << " a=" << a;
    }
  }
}

TEST(ErlangC, MatchesLogSpaceSumForLargeTeams) {
  for (int c : {500, 2000, 5000}) {
    for (double a : {0.8 * c, 0.98 * c, c - 1.0}) {
      const double expected = static_cast<double>(logSpaceErlangC(c, a));
      EXPECT_NEAR(erlangC(c, a), expected, 1e-9 * std::max(1.0, expected))
          << "c=" << c << " a=" << a;
    }
  }
  EXPECT_EQ(erlangC(5000, 1.0), 0.0);  // underflows cleanly to zero, no NaN
}

TEST(ErlangC, OverloadIsReportedUnstable) {
  const StaffingResult r = erlangCMetrics(input(2, 240, 30, 20));  // A = 2 on 2 agents
  EXPECT_FALSE(r.stable);
  EXPECT_EQ(r.p_wait, 1.0);
  EXPECT_EQ(r.service_level, 0.0);
  EXPECT_TRUE(std::isinf(r.asa_seconds));
  EXPECT_EQ(r.occupancy, 1.0);
  EXPECT_EQ(erlangC(2, 5.0), 1.0);
}

TEST(ErlangC, MoreAgentsNeverHurt) {
  double last_sl = 0, last_asa = std::numeric_limits<double>::infinity();
  for (int c = 11; c <= 30; ++c) {
    const StaffingResult r = erlangCMetrics(input(c, 200, 180, 20));
    EXPECT_GT(r.service_level, last_sl);
    EXPECT_LT(r.asa_seconds, last_asa);
    last_sl = r.service_level;
    last_asa = r.asa_seconds;
  }
}

TEST(AgentsForTarget, ClassicHundredCallsPerHalfHour) {
  // The usual worked example: 100 calls per 30 minutes, AHT 180 s (A = 10 Erlangs), 80% within
  // 20 s. 13 agents give P(wait) = 0.2853 and SL = 79.6%; 14 give P(wait) = 0.1741, SL = 88.8%.
  const auto target = agentsForTarget(200, 180, 20, 0.8);
  ASSERT_TRUE(target.has_value());
  EXPECT_EQ(target->agents, 14);
  EXPECT_NEAR(target->result.p_wait, 0.1741, 5e-5);
  EXPECT_NEAR(target->result.p_wait, static_cast<double>(naiveErlangC(14, 10.0L)), 1e-12);
  EXPECT_NEAR(target->result.service_level, 0.88835, 5e-5);
  const StaffingResult thirteen = erlangCMetrics(input(13, 200, 180, 20));
  EXPECT_NEAR(thirteen.p_wait, 0.2853, 5e-5);
  EXPECT_NEAR(thirteen.service_level, 0.7956, 5e-5);
}

TEST(AgentsForTarget, SmallestCountForManyLoads) {
  for (double cph : {10.0, 240.0, 1000.0, 20000.0, 90000.0}) {
    for (std::optional<double> patience : {std::optional<double>{}, std::optional<double>{60.0}}) {
      const auto target = agentsForTarget(cph, 180, 20, 0.8, patience);
      ASSERT_TRUE(target.has_value()) << cph;
      EXPECT_GE(target->result.service_level, 0.8);
      EXPECT_EQ(target->result.agents, target->agents);
      if (target->agents > 1) {
        const auto below = staffingMetrics(input(target->agents - 1, cph, 180, 20, patience));
        EXPECT_LT(below.service_level, 0.8) << cph;
      }
    }
  }
}

TEST(AgentsForTarget, UnreachableTargetIsNullopt) {
  // A = 99999.9 Erlangs needs more than kMaxAgents agents for 99.99% within 1 s.
  EXPECT_FALSE(agentsForTarget(3600.0 * 99999.9, 1, 1, 0.9999).has_value());
}

TEST(Validate, RejectsBadInput) {
  EXPECT_FALSE(validate(input(3, 240, 30, 20)).has_value());
  EXPECT_TRUE(validate(input(0, 240, 30, 20)).has_value());
  EXPECT_TRUE(validate(input(kMaxAgents + 1, 240, 30, 20)).has_value());
  EXPECT_TRUE(validate(input(3, -1, 30, 20)).has_value());
  EXPECT_TRUE(validate(input(3, 240, 0, 20)).has_value());
  EXPECT_TRUE(validate(input(3, 240, 30, -1)).has_value());
  EXPECT_TRUE(validate(input(3, 240, 30, 20, 0.0)).has_value());
  EXPECT_TRUE(validate(input(3, std::nan(""), 30, 20)).has_value());
  EXPECT_TRUE(validate(input(3, 1e300, 1e300, 20)).has_value());  // load overflows to inf
  EXPECT_TRUE(validate(input(3, 3600.0 * (kMaxLoadErlangs + 1), 1, 20)).has_value());
  EXPECT_FALSE(validate(input(0, 240, 30, 20), false).has_value());
}

// ---- Erlang A ----

TEST(ErlangA, VeryLongPatienceApproachesErlangC) {
  for (int c : {3, 14, 120}) {
    const double cph = 200.0 * c / 14.0;  // about 71% occupancy at AHT 180
    const StaffingResult ec = erlangCMetrics(input(c, cph, 180, 20));
    const StaffingResult ea = erlangAMetrics(input(c, cph, 180, 20, 1e9));
    EXPECT_NEAR(ea.p_wait, ec.p_wait, 1e-5);
    EXPECT_NEAR(ea.service_level, ec.service_level, 1e-5);
    EXPECT_NEAR(ea.service_level_answered, ec.service_level, 1e-5);
    EXPECT_NEAR(ea.asa_seconds, ec.asa_seconds, 1e-4 * ec.asa_seconds);
    EXPECT_NEAR(ea.occupancy, ec.occupancy, 1e-6);
    EXPECT_LT(ea.abandon_rate, 1e-6);
  }
}

TEST(ErlangA, PatienceEqualToAhtGivesPoissonNumberInSystem) {
  // theta == mu: every caller leaves at rate mu whether served or not, so N ~ Poisson(A).
  const int c = 10;
  const double aht = 120, cph = 360;  // A = 12 > c: still stable thanks to abandonment
  const double lambda = cph / 3600, mu = 1 / aht;
  const std::vector<double> p = erlangAStateProbabilities(c, lambda, mu, mu);
  const double a = lambda / mu;
  double poisson = std::exp(-a), below_c = 0;
  for (std::size_t n = 0; n < p.size(); ++n) {
    EXPECT_NEAR(p[n], poisson, 1e-13) << n;
    if (n < static_cast<std::size_t>(c)) below_c += poisson;
    poisson *= a / static_cast<double>(n + 1);
  }
  const StaffingResult r = erlangAMetrics(input(c, cph, aht, 20, aht));
  EXPECT_NEAR(r.p_wait, 1.0 - below_c, 1e-12);
}

// Independent M/M/c+M solution: long double chain to a fixed depth, and P(answered by T | k)
// by RK4 on the unconditioned phase chain (advance at c mu + j theta, abandon at theta).
struct HandSolution {
  double p_wait, abandon, service_level, asa, mean_wait, occupancy;
};

HandSolution solveByHand(int c, double cph, double aht, double patience, double t) {
  const long double lambda = cph / 3600.0L, mu = 1.0L / aht, theta = 1.0L / patience;
  const int depth = 400;
  std::vector<long double> w(depth, 0);
  w[0] = 1;
  for (int n = 1; n < depth; ++n) {
    w[n] = w[n - 1] * lambda / (std::min(n, c) * mu + std::max(n - c, 0) * theta);
  }
  long double total = 0;
  for (long double v : w) total += v;
  for (long double& v : w) v /= total;

  const long double cmu = c * mu;
  HandSolution s{};
  long double p_wait = 0, abandon = 0, within = 0, answered_wait = 0, queue = 0, busy = 0;
  for (int n = 0; n < depth; ++n) {
    busy += std::min(n, c) * w[n];
    if (n < c) {
      within += w[n];
      continue;
    }
    const int k = n - c;
    p_wait += w[n];
    queue += k * w[n];
    if (w[n] < 1e-20L) continue;  // negligible arrival state
    // State: phase[j] = P(tagged still waiting with j ahead), then served = P(answered so far)
    // and served_time = E[W; answered so far]. served' = c mu phase[0], served_time' = t served'.
    const int dim = k + 3;
    std::vector<long double> y(dim, 0);
    y[k] = 1;
    auto deriv = [&](long double time, const std::vector<long double>& v,
                     std::vector<long double>& d) {
      for (int j = 0; j <= k; ++j) {
        d[j] = -(cmu + (j + 1) * theta) * v[j];
        if (j < k) d[j] += (cmu + (j + 1) * theta) * v[j + 1];  // head moves: c mu + (j+1) theta
      }
      d[k + 1] = cmu * v[0];
      d[k + 2] = time * cmu * v[0];
    };
    const long double h = 0.05L;
    const int steps_to_t = static_cast<int>(std::lround(t / h));
    std::vector<long double> k1(dim), k2(dim), k3(dim), k4(dim), tmp(dim);
    for (int step = 0;; ++step) {
      if (step == steps_to_t) within += w[n] * y[k + 1];
      long double waiting = 0;
      for (int j = 0; j <= k; ++j) waiting += y[j];
      if (step > steps_to_t && waiting < 1e-18L) break;
      const long double time = step * h;
      deriv(time, y, k1);
      for (int j = 0; j < dim; ++j) tmp[j] = y[j] + h / 2 * k1[j];
      deriv(time + h / 2, tmp, k2);
      for (int j = 0; j < dim; ++j) tmp[j] = y[j] + h / 2 * k2[j];
      deriv(time + h / 2, tmp, k3);
      for (int j = 0; j < dim; ++j) tmp[j] = y[j] + h * k3[j];
      deriv(time + h, tmp, k4);
      for (int j = 0; j < dim; ++j) y[j] += h / 6 * (k1[j] + 2 * k2[j] + 2 * k3[j] + k4[j]);
    }
    const long double served = y[k + 1], served_time = y[k + 2];
    abandon += w[n] * (1 - served);
    answered_wait += w[n] * served_time;
  }
  s.p_wait = static_cast<double>(p_wait);
  s.abandon = static_cast<double>(abandon);
  s.service_level = static_cast<double>(within);
  s.asa = static_cast<double>(answered_wait / (1 - abandon));
  s.mean_wait = static_cast<double>(queue / lambda);
  s.occupancy = static_cast<double>(busy / c);
  return s;
}

void expectMatchesHand(int c, double cph, double aht, double patience, double t) {
  SCOPED_TRACE(testing::Message() << "c=" << c << " cph=" << cph << " patience=" << patience);
  const HandSolution hand = solveByHand(c, cph, aht, patience, t);
  const StaffingResult r = erlangAMetrics(input(c, cph, aht, t, patience));
  EXPECT_NEAR(r.p_wait, hand.p_wait, 1e-12);
  EXPECT_NEAR(r.occupancy, hand.occupancy, 1e-12);
  EXPECT_NEAR(r.mean_wait_seconds, hand.mean_wait, 1e-9);
  EXPECT_NEAR(r.abandon_rate, hand.abandon, 1e-9);
  EXPECT_NEAR(r.service_level, hand.service_level, 1e-9);
  EXPECT_NEAR(r.asa_seconds, hand.asa, 1e-6);
  EXPECT_NEAR(r.service_level_answered, hand.service_level / (1 - hand.abandon), 1e-9);
}

TEST(ErlangA, MatchesHandBuiltChainUnderload) {
  expectMatchesHand(2, 100, 60, 30, 20);
}

TEST(ErlangA, MatchesHandBuiltChainOverload) {
  expectMatchesHand(2, 180, 60, 45, 15);
}

TEST(ErlangA, FlowBalanceHolds) {
  // Abandonment rate from the per-arrival phase argument equals theta E[Q] / lambda (rate
  // balance), and the answered flow keeps the agents busy: busy = lambda (1 - P_ab) / mu.
  for (double cph : {100.0, 300.0, 600.0}) {
    const double aht = 240, patience = 90;
    const StaffingResult r = erlangAMetrics(input(12, cph, aht, 20, patience));
    const double lambda = cph / 3600;
    EXPECT_NEAR(r.abandon_rate, r.mean_wait_seconds / patience, 1e-10);  // (theta E[Q]) / lambda
    EXPECT_NEAR(r.occupancy * 12, lambda * (1 - r.abandon_rate) * aht, 1e-9);
  }
}

TEST(ErlangA, OverloadStaysFinite) {
  const StaffingResult r = erlangAMetrics(input(20, 600, 180, 20, 60));  // A = 30 on 20
  EXPECT_TRUE(r.stable);
  EXPECT_FALSE(r.tail_truncated);
  EXPECT_GT(r.abandon_rate, 1.0 / 3.0 - 0.05);  // at least the excess load roughly leaves
  EXPECT_LT(r.abandon_rate, 1.0);
  EXPECT_GT(r.occupancy, 0.95);
  EXPECT_TRUE(std::isfinite(r.asa_seconds));
  EXPECT_GE(r.service_level, 0.0);
  EXPECT_LE(r.service_level, r.service_level_answered);
}

TEST(ErlangA, MoreAgentsNeverHurt) {
  double last_sl = -1, last_ab = 2;
  for (int c = 1; c <= 30; ++c) {
    const StaffingResult r = erlangAMetrics(input(c, 200, 180, 20, 45));
    EXPECT_GT(r.service_level, last_sl) << c;
    EXPECT_LT(r.abandon_rate, last_ab) << c;
    last_sl = r.service_level;
    last_ab = r.abandon_rate;
  }
}

TEST(ErlangA, LargeTeamsAreFastAndSane) {
  for (double a : {4500.0, 4990.0, 5200.0}) {
    const double cph = a * 3600 / 300;
    const StaffingResult r = erlangAMetrics(input(5000, cph, 300, 20, 120));
    EXPECT_FALSE(r.tail_truncated);
    for (double v :
         {r.p_wait, r.service_level, r.service_level_answered, r.abandon_rate, r.occupancy}) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_TRUE(std::isfinite(r.asa_seconds));
    EXPECT_NEAR(r.occupancy * 5000, cph / 3600 * (1 - r.abandon_rate) * 300, 1e-6 * 5000);
  }
  const std::vector<double> p = erlangAStateProbabilities(5000, 5000.0 / 300, 1.0 / 300, 1.0 / 120);
  double total = 0;
  for (double v : p) total += v;
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(ErlangA, ZeroThresholdCountsOnlyImmediateAnswers) {
  const StaffingResult r = erlangAMetrics(input(5, 100, 120, 0, 60));
  EXPECT_NEAR(r.service_level, 1 - r.p_wait, 1e-15);
}

}  // namespace
}  // namespace parley::sim
