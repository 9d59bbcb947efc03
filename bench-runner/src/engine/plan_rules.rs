//! Settings of logbench's own (`--set logbench.KEY=VALUE`, DataFusion only) that change one
//! thing in the physical plan DataFusion chose, to test an explanation of a measurement by
//! changing the plan rather than by reading it.
//!
//! - `logbench.unordered_hash_repartition=true`: every hash `RepartitionExec` that preserves
//!   its input's order (`preserve_order=true`, a merge of its inputs in order) becomes a plain
//!   one, after DataFusion's own optimizer has run; the operators above it are rebuilt on the
//!   new input, so an aggregation that streamed on the order runs as a hash aggregation. A plan
//!   that needs the order (a sort-preserving merge above it with nothing to sort in between)
//!   is refused by DataFusion's sanity check, in one line, rather than run with a wrong answer.

use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::execution::SessionStateBuilder;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::sanity_checker::SanityCheckPlan;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::{ExecutionPlan, Partitioning};

use crate::error::{Error, Result};

/// The prefix of logbench's own settings.
pub const PREFIX: &str = "logbench.";
/// The one setting there is.
pub const UNORDERED_HASH_REPARTITION: &str = "logbench.unordered_hash_repartition";

/// What the `logbench.*` settings of a run ask for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PlanRules {
    pub unordered_hash_repartition: bool,
}

impl PlanRules {
    /// The `logbench.*` settings among `settings` (the others are DataFusion's); an unknown
    /// key or a value that is not a boolean is an error naming it.
    pub fn from_settings(settings: &[(String, String)]) -> Result<Self> {
        let mut rules = Self::default();
        for (k, v) in settings.iter().filter(|(k, _)| k.starts_with(PREFIX)) {
            if k != UNORDERED_HASH_REPARTITION {
                return Err(Error::Config(format!(
                    "--set {k}={v}: no such logbench setting (there is {UNORDERED_HASH_REPARTITION})"
                )));
            }
            rules.unordered_hash_repartition = v
                .parse::<bool>()
                .map_err(|_| Error::Config(format!("--set {k}={v}: the value is true or false")))?;
        }
        Ok(rules)
    }

    /// `builder` with the rules asked for appended to DataFusion's own.
    pub fn apply(self, builder: SessionStateBuilder) -> SessionStateBuilder {
        if self.unordered_hash_repartition {
            builder.with_physical_optimizer_rule(Arc::new(UnorderedHashRepartition))
        } else {
            builder
        }
    }
}

/// See the module's documentation.
#[derive(Debug)]
pub struct UnorderedHashRepartition;

impl PhysicalOptimizerRule for UnorderedHashRepartition {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let rewritten = plan
            .transform_up(|node| {
                let Some(r) = node.downcast_ref::<RepartitionExec>() else {
                    return Ok(Transformed::no(node));
                };
                if !(r.preserve_order() && matches!(r.partitioning(), Partitioning::Hash(..))) {
                    return Ok(Transformed::no(node));
                }
                let plain =
                    RepartitionExec::try_new(Arc::clone(r.input()), r.partitioning().clone())?;
                Ok(Transformed::yes(Arc::new(plain) as Arc<dyn ExecutionPlan>))
            })?
            .data;
        SanityCheckPlan::new()
            .optimize(rewritten, config)
            .map_err(|e| {
                datafusion::common::DataFusionError::Plan(format!(
                    "{UNORDERED_HASH_REPARTITION}: this plan needs the order its repartitions keep: {}",
                    logbench_common::cli::single_line(&e.to_string())
                ))
            })
    }

    fn name(&self) -> &str {
        "logbench_unordered_hash_repartition"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> Vec<(String, String)> {
        vec![(k.to_string(), v.to_string())]
    }

    #[test]
    fn only_the_known_setting_with_a_boolean_is_taken() {
        assert_eq!(
            PlanRules::from_settings(&set(UNORDERED_HASH_REPARTITION, "true")).unwrap(),
            PlanRules {
                unordered_hash_repartition: true
            }
        );
        assert_eq!(
            PlanRules::from_settings(&set("datafusion.execution.batch_size", "10")).unwrap(),
            PlanRules::default()
        );
        let e = PlanRules::from_settings(&set("logbench.nope", "true")).unwrap_err();
        assert!(e.to_string().contains("no such logbench setting"), "{e}");
        let e = PlanRules::from_settings(&set(UNORDERED_HASH_REPARTITION, "yes")).unwrap_err();
        assert!(e.to_string().contains("true or false"), "{e}");
    }
}
