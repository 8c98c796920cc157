package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/servertest"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
	"github.com/orbit-iac/terraform-provider-orbit/internal/testwait"
)

// fakeKind is a third VCS kind that exists only in this test. It records which of
// its methods the server called, and the statuses it was asked to post.
type fakeKind struct {
	mu       sync.Mutex
	calls    []string
	statuses []vcs.CommitStatus
}

const fakeKindName store.Provider = "fake_vcs"

func (f *fakeKind) called(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
}

func (f *fakeKind) wasCalled(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.calls, name)
}

func (f *fakeKind) posted() []vcs.CommitStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.statuses)
}

func (f *fakeKind) Name() store.Provider { return fakeKindName }
func (f *fakeKind) PathSegment() string  { return "fake-vcs" }

func (f *fakeKind) BuildIntegration(req *apiwire.IntegrationRequest, in store.Integration, current *store.Integration) (store.Integration, *vcs.PendingCredential, error) {
	f.called("BuildIntegration")
	if req.Username == "" {
		return in, nil, httpx.InvalidArg("username", "username is required")
	}
	in.Username = req.Username
	if req.AccessToken == nil {
		if current == nil {
			return in, nil, httpx.InvalidArg("access_token", "access_token is required")
		}
		return in, nil, nil
	}
	return in, &vcs.PendingCredential{Field: "access_token", Plaintext: *req.AccessToken}, nil
}

func (f *fakeKind) RenderIntegration(in store.Integration, resp *apiwire.Integration) {
	f.called("RenderIntegration")
	resp.Warnings = append(resp.Warnings, "rendered by the fake kind")
}

func (f *fakeKind) CredentialField(store.Integration, string) string { return "access_token" }

func (f *fakeKind) CheckCredentials(_ context.Context, _ vcs.CheckEnv, _ store.Integration, credential string) vcs.CredentialCheck {
	f.called("CheckCredentials")
	if credential != "fake-token" {
		return vcs.CredentialCheck{Reason: vcs.CheckBadCredentials, Message: "the fake product rejects this token"}
	}
	return vcs.CredentialCheck{Valid: true, Reason: vcs.CheckOK}
}

// BranchHead answers "head-of-<branch>", and not_found for the branch "gone".
func (f *fakeKind) BranchHead(_ context.Context, _ vcs.CheckEnv, _ store.Integration, credential, namespace, repository, branch string) (string, error) {
	f.called("BranchHead")
	if credential != "fake-token" || branch == "gone" {
		return "", &vcs.RefError{Reason: vcs.RefNotFound, Message: "the fake product has no branch " + branch + " in " + namespace + "/" + repository}
	}
	return "head-of-" + branch, nil
}

// CheckRepository knows every repository but "nope".
func (f *fakeKind) CheckRepository(_ context.Context, _ vcs.CheckEnv, _ store.Integration, _, namespace, repository string) error {
	f.called("CheckRepository")
	if repository == "nope" {
		return &vcs.RefError{Reason: vcs.RefNotFound, Message: "the fake product has no repository " + namespace + "/" + repository}
	}
	return nil
}

func (f *fakeKind) DefaultEvents() []string { return []string{"fake:push"} }

func (f *fakeKind) CheckNamespace(namespace string) error {
	f.called("CheckNamespace")
	if namespace == "" {
		return httpx.InvalidArg("namespace", "namespace is required")
	}
	return nil
}

func (f *fakeKind) RepositoryURL(b store.StackBinding) string {
	return "https://fake.example/" + b.Namespace + "/" + b.Repository
}

func (f *fakeKind) ReadDelivery(header http.Header) vcs.Delivery {
	f.called("ReadDelivery")
	return vcs.Delivery{EventKey: header.Get("X-Fake-Event"), RequestID: header.Get("X-Fake-Delivery"), Attempt: 1}
}

func (f *fakeKind) VerifyDelivery(header http.Header, body []byte, current, previous bitbucket.Secret) int {
	f.called("VerifyDelivery")
	return bitbucket.VerifySignature(header.Get("X-Fake-Signature"), body, current, previous)
}

// fakePush is the fake product's push payload.
type fakePush struct {
	Namespace, Repository, Branch, Commit string
}

func (f *fakeKind) ParseEvent(eventKey string, body []byte) (bitbucket.WebhookEvent, error) {
	f.called("ParseEvent")
	var p fakePush
	if err := json.Unmarshal(body, &p); err != nil {
		return bitbucket.WebhookEvent{}, &bitbucket.PayloadError{Reason: "not a fake push"}
	}
	return bitbucket.WebhookEvent{Key: eventKey, Kind: bitbucket.EventPush, Namespace: p.Namespace, Repository: p.Repository,
		Pushes: []bitbucket.BranchPush{{Branch: p.Branch, Commit: p.Commit}}}, nil
}

func (f *fakeKind) ChangedPaths(context.Context, vcs.StatusEnv, store.Integration, string, vcs.Change) ([]string, error) {
	f.called("ChangedPaths")
	return nil, errors.New("the fake kind lists no changed paths")
}

func (f *fakeKind) NewStatusPoster(_ vcs.StatusEnv, _ store.Integration, credential string, _ store.Run) (vcs.StatusPoster, error) {
	f.called("NewStatusPoster")
	if credential != "fake-token" {
		return nil, &vcs.StatusRefusal{Msg: "wrong credential reached the poster"}
	}
	return func(_ context.Context, st vcs.CommitStatus) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.statuses = append(f.statuses, st)
		return nil
	}, nil
}

func fakeSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// TestThirdKindGoesThroughTheRegistry registers a kind the server has never heard
// of and shows that creating an integration of it, delivering to it and posting a
// status go through its methods; then, with the kind gone from the registry, each
// of those paths answers "unsupported integration kind" instead of doing what
// another kind would.
func TestThirdKindGoesThroughTheRegistry(t *testing.T) {
	// Not parallel: the registry is the process's, and other tests compare the
	// route table with openapi.json.
	fake := &fakeKind{}
	unregister := vcs.Register(fake)
	registered := true
	t.Cleanup(func() {
		if registered {
			unregister()
		}
	})
	inst := servertest.Start(t, servertest.WithCredentialChecker(&server.BitbucketChecker{}),
		servertest.WithConfig(func(c *server.Config) { c.QueuePollInterval = 20 * time.Millisecond }))
	c := newClient(t, inst, inst.AdminKey)

	// An unregistered kind is refused, naming the field.
	status, body := c.do(http.MethodPost, "/api/v1/integrations",
		map[string]any{"provider": "gitlab", "name": "gl", "is_default": true, "username": "u", "access_token": "t"})
	if status != http.StatusBadRequest || !strings.Contains(string(body), `unsupported integration kind \"gitlab\"`) || !strings.Contains(string(body), `"field":"provider"`) {
		t.Fatalf("create of an unregistered kind: %d %s", status, body)
	}

	// Create: validated, checked and rendered by the fake kind.
	in := c.must(http.MethodPost, "/api/v1/integrations",
		map[string]any{"provider": string(fakeKindName), "name": "fk", "is_default": true, "username": "u", "access_token": "fake-token"}, http.StatusCreated)
	for _, m := range []string{"BuildIntegration", "CheckCredentials", "RenderIntegration"} {
		if !fake.wasCalled(m) {
			t.Errorf("create did not call the kind's %s", m)
		}
	}
	if got := str(in, "webhook_url"); got != inst.PublicURL+"/webhooks/fake-vcs/fk" {
		t.Errorf("webhook_url = %q", got)
	}
	hook := c.must(http.MethodGet, "/api/v1/integrations/"+str(in, "id")+"/webhook", nil, http.StatusOK)
	if events, _ := hook["required_events"].([]any); len(events) != 1 || events[0] != "fake:push" {
		t.Errorf("required_events = %v", hook["required_events"])
	}

	stack := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "fake-stack", "space_id": "root"}, http.StatusCreated)
	binding := c.must(http.MethodPost, "/api/v1/stacks/"+str(stack, "id")+"/vcs-binding",
		map[string]any{"integration_id": str(in, "id"), "namespace": "team", "repository": "app"}, http.StatusCreated)
	if !fake.wasCalled("CheckNamespace") || str(binding, "repository_url") != "https://fake.example/team/app" {
		t.Errorf("binding did not go through the kind: %v", binding)
	}
	if !fake.wasCalled("CheckRepository") {
		t.Errorf("binding create did not ask the kind whether the repository exists")
	}
	nope := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "fake-nope", "space_id": "root"}, http.StatusCreated)
	if msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+str(nope, "id")+"/vcs-binding",
		map[string]any{"integration_id": str(in, "id"), "namespace": "team", "repository": "nope"}, http.StatusBadRequest, "invalid_argument", "repository"); !strings.Contains(msg, "team/nope") {
		t.Errorf("binding to a repository the kind does not have: %q", msg)
	}

	// Triggered before any push, the stack runs on the head the fake kind names.
	first := c.must(http.MethodPost, "/api/v1/stacks/"+str(stack, "id")+"/trigger", nil, http.StatusAccepted)
	if str(first, "commit") != "head-of-main" || !strings.Contains(str(first, "trigger_reason"), "branch head from Bitbucket") || !fake.wasCalled("BranchHead") {
		t.Errorf("trigger before any push: %v", first)
	}
	gone := c.must(http.MethodPost, "/api/v1/stacks", map[string]any{"name": "fake-gone", "space_id": "root"}, http.StatusCreated)
	c.must(http.MethodPost, "/api/v1/stacks/"+str(gone, "id")+"/vcs-binding",
		map[string]any{"integration_id": str(in, "id"), "namespace": "team", "repository": "app", "branch": "gone"}, http.StatusCreated)
	if msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+str(gone, "id")+"/trigger", nil, http.StatusConflict, "conflict", "branch"); !strings.Contains(msg, "no branch gone in team/app") {
		t.Errorf("trigger of a branch the kind does not have: %q", msg)
	}

	// Deliver: read, verified and parsed by the fake kind; the run's status is
	// posted through its poster.
	push, _ := json.Marshal(fakePush{Namespace: "team", Repository: "app", Branch: "main", Commit: "c0ffee"})
	deliver := func(id string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, inst.URL+"/webhooks/fake-vcs/fk", strings.NewReader(string(push)))
		req.Header.Set("X-Fake-Event", "fake:push")
		req.Header.Set("X-Fake-Delivery", id)
		req.Header.Set("X-Fake-Signature", fakeSignature(str(in, "webhook_secret"), push))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var raw json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&raw)
		return resp.StatusCode, raw
	}
	if status, body := deliver("d-1"); status != http.StatusAccepted {
		t.Fatalf("delivery: %d %s", status, body)
	}
	testwait.For(t, 10*time.Second, "the fake kind to post the run's status", func() bool {
		return len(fake.posted()) > 0
	})
	if st := fake.posted()[0]; st.Key != "orbit/"+str(stack, "id") || st.State != "INPROGRESS" {
		t.Errorf("posted %+v", st)
	}
	for _, m := range []string{"ReadDelivery", "VerifyDelivery", "ParseEvent", "NewStatusPoster"} {
		if !fake.wasCalled(m) {
			t.Errorf("the delivery did not call the kind's %s", m)
		}
	}

	// The kind leaves the registry (a server started without it): each path says so.
	unregister()
	registered = false
	if status, body := deliver("d-2"); status != http.StatusNotFound || !strings.Contains(string(body), "unsupported integration kind") {
		t.Errorf("delivery to an unregistered kind: %d %s", status, body)
	}
	// A delivery stored before the kind left is recorded as not dispatched (another
	// body: the one delivered above is stored already).
	ctx := context.Background()
	receipts, err := inst.Server.Store().RecordDeliveries(ctx, []store.Delivery{{IntegrationID: str(in, "id"), RequestID: "d-3",
		EventKey: "fake:push", Secret: store.SecretCurrent, Attempt: 1, Body: append(slices.Clip(push), ' '), ReceivedAt: time.Now()}})
	if err != nil || len(receipts) != 1 || receipts[0].ID == "" {
		t.Fatalf("record delivery: %v %v", receipts, err)
	}
	var outcome string
	testwait.For(t, 10*time.Second, "the stored delivery's outcome", func() bool {
		d, err := inst.Server.Store().GetDelivery(ctx, receipts[0].ID)
		outcome = d.Outcome
		return err == nil && outcome != ""
	})
	if !strings.Contains(outcome, `unsupported integration kind "fake_vcs"`) {
		t.Errorf("outcome of a delivery of an unregistered kind: %q", outcome)
	}
	// A manual trigger cannot ask the kind for the branch head: refused, saying so.
	if msg := c.wantError(http.MethodPost, "/api/v1/stacks/"+str(stack, "id")+"/trigger", nil, http.StatusServiceUnavailable, "unavailable", ""); !strings.Contains(msg, "unsupported integration kind") {
		t.Errorf("trigger of a stack whose kind is unregistered: %q", msg)
	}
	// A status to post (of a run made before the kind left) is refused for good, and
	// the run says why.
	run, err := inst.Server.Store().CreateRun(ctx, store.Run{StackID: str(stack, "id"), IntegrationID: str(in, "id"),
		Namespace: "team", Repository: "app", Kind: store.RunTracked, Commit: "c0ffee2", Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 10*time.Second, "the run's status error", func() bool {
		got := c.must(http.MethodGet, "/api/v1/runs/"+run.ID, nil, http.StatusOK)
		return strings.Contains(str(got, "status_error"), "unsupported integration kind")
	})
	// The credential checker does not pass it either.
	check := (&server.BitbucketChecker{}).Check(ctx, store.Integration{Provider: fakeKindName}, "fake-token")
	if check.Valid || !strings.Contains(check.Message, "unsupported integration kind") {
		t.Errorf("check of an unregistered kind: %+v", check)
	}
	// And an update of it is refused, naming the field.
	status, body = c.do(http.MethodPut, "/api/v1/integrations/"+str(in, "id"), map[string]any{"is_default": true, "username": "v"})
	if status != http.StatusBadRequest || !strings.Contains(string(body), "unsupported integration kind") {
		t.Errorf("update of an unregistered kind: %d %s", status, body)
	}
}
