"""Closed-loop control with exported policies: plants, experts, imitation (BC + DAgger), the loop, reports.

Modules (each imports its heavy dependencies only when used): ``plants`` (gymnasium/MuJoCo plants with
changeable physics), ``experts`` (energy swing-up, LQR, seeded gait), ``conditions`` (nominal and
out-of-distribution test conditions), ``episode`` (one sample-and-hold episode), ``task`` (the
``control-<plant>`` training tasks), ``imitation`` (BC then DAgger into an ordinary run directory),
``loop`` (an exported policy through edgelnn.runtime under every condition), ``report`` (table, JSON,
plots).
"""
