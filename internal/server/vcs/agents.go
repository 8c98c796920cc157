package vcs

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// PrivatePrefix starts an api_host that names a VCS agent pool: private://<pool>.
const PrivatePrefix = "private://"

// PrivatePool is the pool an api_host names, and whether it names one.
func PrivatePool(apiHost string) (string, bool) {
	return strings.CutPrefix(apiHost, PrivatePrefix)
}

// AgentBaseURL is the base URL a kind's client uses for a private://<pool> host: the
// pool's transport (Agents.Transport) sends each request to a connected agent and
// puts that agent's own Bitbucket URL in place of this one, so no request addressed
// here ever leaves orbit-server otherwise.
const AgentBaseURL = "http://vcs-agent.invalid"

// Agents reaches a Bitbucket that orbit-server cannot: through the VCS agents of a
// pool, connected to this replica (internal/server/agenthub).
type Agents interface {
	// Transport is the transport of the pool named pool, as seen from in's space.
	// Its requests are addressed to AgentBaseURL. With no agent of the pool
	// connected, its RoundTrip fails with a *NoAgentError.
	Transport(in store.Integration, pool string) http.RoundTripper
}

// NoAgentError is the error of a request for a pool no agent of which is connected
// to this replica: worth trying again later (a status job waits in the queue).
type NoAgentError struct{ Pool string }

func (e *NoAgentError) Error() string {
	return fmt.Sprintf("no agent of pool %q is connected to orbit-server; start orbit-vcs-agent with a token of the pool (statuses wait in the queue until one connects)", e.Pool)
}

// AgentError is an answer a VCS agent made itself instead of relaying Bitbucket's:
// it refused the request (not for its Bitbucket URL) or could not reach Bitbucket.
type AgentError struct {
	Pool   string
	Reason string // refused | unreachable
	Status int
	// Message is the agent's text (it names its Bitbucket host, never a credential).
	Message string
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("the agent of pool %q answered for Bitbucket (%s, HTTP %d): %s", e.Pool, e.Reason, e.Status, e.Message)
}
