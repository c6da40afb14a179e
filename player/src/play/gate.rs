//! The licence network behind the `licence_ask` / `licence_more` imports: asks the nodes
//! through `licence-net-client` and carries their sealed answers to the capsule.

use super::*;

/// The licence network behind the `licence_ask` / `licence_more` imports.
pub struct NetworkGate {
    client: LicenceClient,
    handle: tokio::runtime::Handle,
    gathered: Option<Gathered>,
}

impl NetworkGate {
    /// A gate over `client`, blocking on the current tokio runtime from the capsule's thread.
    pub fn new(client: LicenceClient) -> Self {
        Self {
            client,
            handle: tokio::runtime::Handle::current(),
            gathered: None,
        }
    }
}

fn client_error(e: ClientError) -> PlayError {
    let text = e.to_string();
    match &e {
        ClientError::NotEnough {
            failures,
            answered,
            needed,
            ..
        } => {
            let refused = |code: &str| {
                failures.iter().any(
                    |f| matches!(&f.problem, NodeProblem::Refused { code: c, .. } if c == code),
                )
            };
            if refused("no_access") {
                PlayError::NoAccess(text)
            } else if answered < needed {
                PlayError::NotEnoughNodes(text)
            } else {
                PlayError::LicenceRefused(text)
            }
        }
        _ => PlayError::LicenceRefused(text),
    }
}

impl LicenceGate for NetworkGate {
    fn ask(&mut self, ask: &LicenceAsk) -> Result<Vec<LicenceResponse>, PlayError> {
        let gathered = self
            .handle
            .block_on(self.client.gather(ask))
            .map_err(client_error)?;
        let responses = gathered.responses.clone();
        self.gathered = Some(gathered);
        Ok(responses)
    }

    fn more(&mut self, bad: &[ShareFault]) -> Result<Vec<LicenceResponse>, PlayError> {
        let gathered = self
            .gathered
            .as_mut()
            .ok_or_else(|| PlayError::Capsule("asked for more shares before asking".into()))?;
        gathered.report(bad);
        self.handle.block_on(gathered.rest());
        if gathered.responses.len() < gathered.needed {
            let failures = gathered
                .failures
                .iter()
                .map(|f| format!("\n  - {f}"))
                .collect::<String>();
            return Err(PlayError::NotEnoughNodes(format!(
                "{} usable shares of {} needed{failures}",
                gathered.responses.len(),
                gathered.needed
            )));
        }
        Ok(gathered.responses.clone())
    }
}
