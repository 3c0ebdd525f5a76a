"""DRS, the Dependency Run Scheduler of peppers: make for tile pipelines.

``pep run make TARGET`` reads the YAML rule files, finds which rules are
stale and why, cuts them into PPE streams separated by global, reduction
and command rules, runs them, and records every rule in HKV
(``docs/scheduler.md``; the rule format is ``docs/rules.md``). Modules:

``rules``       one rule file parsed with line marks, each rule checked
``ruleset``     all rules, the networkx graph, whole-set checks, targets
``signatures``  file identities: size and mtime first, hashes only if needed
``state``       run inputs, parameter states and rule records in HKV
``stale``       staleness with reasons and switchable triggers
``streams``     cutting stale rules into streams and boundary steps
``resolve``     parameter values, operators, image specs, stream specs
``boundary``    running global, reduction and command rules atomically
``make``        planning and running steps, recording rules
``report``      the dry-run / ``--why`` text
``dag``         dot, mermaid and PNG pictures of the graph
``progress``    the per-stream progress view
``examples``    small global and reduction operators for examples and tests
"""

from peppers.drs.make import Maker, MakePlan, MakeReport, make, plan_make
from peppers.drs.rules import Rule, parse_rule_file
from peppers.drs.ruleset import RuleSet
from peppers.drs.stale import TRIGGERS, Analysis, Reason, analyse
from peppers.drs.state import RunState
from peppers.drs.streams import Step, cut

__all__ = ["TRIGGERS", "Analysis", "MakePlan", "MakeReport", "Maker", "Reason", "Rule",
           "RuleSet", "RunState", "Step", "analyse", "cut", "make", "parse_rule_file",
           "plan_make"]
