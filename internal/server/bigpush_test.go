package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/textcap"
)

// dcBigPush is a Data Center repo:refs_changed of refs branches whose names are
// nameLen characters long.
func dcBigPush(t *testing.T, refs, nameLen int) string {
	t.Helper()
	changes := make([]map[string]any, refs)
	for i := range changes {
		name := fmt.Sprintf("feature/%0*d", nameLen-len("feature/"), i)
		changes[i] = map[string]any{
			"ref":   map[string]any{"id": "refs/heads/" + name, "displayId": name, "type": "BRANCH"},
			"refId": "refs/heads/" + name, "fromHash": fmt.Sprintf("%040x", i+1<<20), "toHash": fmt.Sprintf("%040x", i+1),
			"type": "UPDATE",
		}
	}
	raw, err := json.Marshal(map[string]any{
		"eventKey": "repo:refs_changed", "date": "2026-01-02T03:04:05+0000",
		"actor":      map[string]any{"name": "admin", "emailAddress": "admin@example.com", "id": 1, "slug": "admin", "type": "NORMAL"},
		"repository": map[string]any{"slug": "infra", "id": 1, "name": "infra", "project": map[string]any{"key": "PLAT", "id": 1, "name": "Platform"}},
		"changes":    changes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestWebhookPushOf3001Refs: a signed Data Center push of 3,001 refs with long
// branch names (about 2.8 MiB, the largest such push) is accepted under the
// default body limit, and what is stored about it is at most the outcome cap.
func TestWebhookPushOf3001Refs(t *testing.T) {
	t.Parallel()
	inst := servertest.Start(t)
	c := newClient(t, inst, inst.AdminKey)
	h := newHookTarget(t, c, dcBody("dc-big", "root", "tok"))
	stack := newStack(t, c, "big-push", "root")
	c.must(http.MethodPost, bindingPath(stack), bindingBody(h.id, "PLAT", "infra"), http.StatusCreated)

	body := dcBigPush(t, 3001, 250)
	if len(body) < 2<<20 {
		t.Fatalf("the push is %d bytes: not the large case", len(body))
	}
	status, answer := h.send(t, delivery{body: body, event: "repo:refs_changed", requestID: "big-1", signWith: h.secret})
	if status != http.StatusAccepted {
		t.Fatalf("push of 3,001 refs (%d bytes): %d %s", len(body), status, answer)
	}
	var ans struct {
		DeliveryID string `json:"delivery_id"`
	}
	if err := json.Unmarshal([]byte(answer), &ans); err != nil {
		t.Fatal(err)
	}
	d := waitProcessed(t, inst, ans.DeliveryID)
	if len(d.Outcome) > textcap.DefaultLimit || !strings.Contains(d.Outcome, "more") {
		t.Errorf("outcome of %d bytes (cap %d): %.200s…", len(d.Outcome), textcap.DefaultLimit, d.Outcome)
	}
	t.Logf("push of %d bytes; outcome %d bytes", len(body), len(d.Outcome))
}
