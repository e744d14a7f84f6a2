//! The features phoenix knows: installers by name, and the requirements of the
//! built-in features that have none yet.

use std::collections::BTreeMap;

use crate::FeatureError;
use crate::builtin;
use crate::feature::{Feature, Request, Requirements};

/// The features phoenix knows, by name.
#[derive(Default)]
pub struct Registry {
    installers: BTreeMap<&'static str, Box<dyn Feature>>,
    builtin: bool,
}

impl Registry {
    /// A registry that knows nothing (for tests of embedders).
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry with phoenix's installers that knows every feature of the config's
    /// one list (`phoenix_config::features`), installable or not.
    pub fn builtin() -> Self {
        let mut r = Registry {
            installers: BTreeMap::new(),
            builtin: true,
        };
        r.register(Box::new(crate::BaseSetup));
        r.register(Box::new(crate::Docker));
        r.register(Box::new(crate::Nvidia));
        r.register(Box::new(crate::Vllm));
        r.register(Box::new(crate::Ollama));
        r.register(Box::new(crate::Portainer::default()));
        r
    }

    /// [`Registry::builtin`] for `fleet`: the portainer server knows the fleet's agents.
    pub fn builtin_for(fleet: &phoenix_config::Fleet) -> Self {
        let mut r = Self::builtin();
        r.register(Box::new(crate::Portainer::for_fleet(fleet)));
        r
    }

    /// The features a container gets: its `features`, and the one its
    /// `portainer_role` implies when they do not list it.
    pub fn container_features(ct: &phoenix_config::Container) -> Vec<String> {
        let mut names: Vec<String> = ct.features.iter().map(|f| f.as_str().to_owned()).collect();
        if let Some(f) = phoenix_config::features::implied_by_role(ct)
            && !names.iter().any(|n| n == f)
        {
            names.push(f.to_owned());
        }
        names
    }

    /// Adds an installer, replacing one of the same name.
    pub fn register(&mut self, feature: Box<dyn Feature>) {
        self.installers.insert(feature.name(), feature);
    }

    /// The installer for `name`, if phoenix has one.
    pub fn installer(&self, name: &str) -> Option<&dyn Feature> {
        self.installers.get(name).map(|f| f.as_ref())
    }

    /// Whether `name` is a feature phoenix knows (with or without an installer).
    pub fn is_known(&self, name: &str) -> bool {
        self.installers.contains_key(name)
            || (self.builtin
                && (phoenix_config::features::is_known(name)
                    || phoenix_config::features::lacks_installer(name)))
    }

    /// What `name` needs on this container: its installer's answer, else the built-in
    /// declaration; `Ok(None)` for a name phoenix does not know.
    pub fn requirements(
        &self,
        name: &str,
        request: &Request<'_>,
    ) -> Result<Option<Requirements>, FeatureError> {
        if let Some(f) = self.installers.get(name) {
            return f.requirements(request).map(Some);
        }
        if !self.builtin {
            return Ok(None);
        }
        Ok(builtin::requirements(name, request))
    }

    /// `names` (the container's features) with every feature they require, each
    /// after the ones it requires; `Err` names a requirement cycle.
    pub fn install_order(
        &self,
        names: &[String],
        request: &Request<'_>,
    ) -> Result<Vec<String>, Vec<String>> {
        fn visit(
            reg: &Registry,
            name: &str,
            request: &Request<'_>,
            stack: &mut Vec<String>,
            out: &mut Vec<String>,
        ) -> Result<(), Vec<String>> {
            if out.iter().any(|n| n == name) {
                return Ok(());
            }
            if let Some(i) = stack.iter().position(|n| n == name) {
                let mut cycle = stack[i..].to_vec();
                cycle.push(name.to_owned());
                return Err(cycle);
            }
            stack.push(name.to_owned());
            let needs = reg
                .requirements(name, request)
                .ok()
                .flatten()
                .map(|r| r.features)
                .unwrap_or_default();
            for n in needs {
                visit(reg, &n, request, stack, out)?;
            }
            stack.pop();
            out.push(name.to_owned());
            Ok(())
        }
        let mut out = Vec::new();
        for n in names {
            visit(self, n, request, &mut Vec::new(), &mut out)?;
        }
        Ok(out)
    }

    /// The names of the installers present.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.installers.keys().copied()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.installers.keys()).finish()
    }
}
