package agenthub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcsagent/pooltoken"
	"github.com/orbit-iac/terraform-provider-orbit/internal/vcsagent"
)

type refuseAll struct{ lookups int }

func (r *refuseAll) AuthenticateAgent(context.Context, string) (PoolIdentity, error) {
	r.lookups++
	return PoolIdentity{}, ErrBadAgentToken
}

// TestVCSAgentMadeUpTokenIDsMeetTheAddressCap: wrong tokens are counted per
// address and token id, so old tokens behind a NAT do not lock out a good one;
// a client making up a new id for every try still meets its address's own
// allowance (AddressFailureFactor times the burst) and gets 429 unread after it,
// so the lookups it causes are bounded.
func TestVCSAgentMadeUpTokenIDsMeetTheAddressCap(t *testing.T) {
	t.Parallel()
	auth := &refuseAll{}
	const burst = 2
	h := New(Config{Auth: auth, FailureBurst: burst, FailureInterval: time.Hour})
	connect := h.Routes()[0].Handle
	status := func() int {
		token, _, err := pooltoken.New("pool-made-up")
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, vcsagent.ConnectPath, nil)
		r.RemoteAddr = "203.0.113.7:40000"
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", vcsagent.UpgradeProtocol)
		r.Header.Set("Authorization", "Bearer "+token)
		var herr *httpx.Error
		if err := connect(httptest.NewRecorder(), r); !errors.As(err, &herr) {
			t.Fatalf("connect answered %v, want an API error", err)
		}
		return herr.Status
	}
	allowance := burst * AddressFailureFactor
	for i := range allowance {
		if got := status(); got != http.StatusUnauthorized {
			t.Fatalf("made-up id %d of %d: status %d, want 401", i+1, allowance, got)
		}
	}
	for range 5 {
		if got := status(); got != http.StatusTooManyRequests {
			t.Fatalf("past the address's allowance: status %d, want 429", got)
		}
	}
	if auth.lookups != allowance {
		t.Fatalf("%d token lookups, want %d (none past the cap)", auth.lookups, allowance)
	}
}
