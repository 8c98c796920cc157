package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/vcs"
)

var vcsChecksValues = func() map[string]bool {
	out := map[string]bool{}
	for _, v := range rules.VCSChecks {
		out[v] = true
	}
	return out
}()

type (
	integrationRequest  = apiwire.IntegrationRequest
	integrationResponse = apiwire.Integration
)

// webhookURL is where in's deliveries go ("" for a kind this server does not know).
func (s *API) webhookURL(in store.Integration) string {
	kind, err := vcs.Lookup(in.Provider)
	if err != nil {
		return ""
	}
	return vcs.WebhookURL(s.publicURL, kind, in.Name)
}

// canSeeSecret: the webhook secret is for admins of the integration's space (root for
// a default integration, which lives there).
func canSeeSecret(p *principal, in store.Integration) (bool, error) {
	return p.Can(in.SpaceID, store.RoleAdmin)
}

// unreadableSecretWarning is added to an integration whose webhook secret does not
// open (a damaged row: the server checks its key against the database at start).
const unreadableSecretWarning = "The webhook secret of this integration cannot be opened with the server's secret key, " +
	"so it is left out. Rotate it (POST /api/v1/integrations/{id}/rotate-secret) and update the webhook in Bitbucket."

// toIntegrationResponse renders in; it cannot fail, so a handler can call it after its
// write has committed. A webhook secret that does not open is left out with a warning
// (and logged), so one damaged row does not fail a whole list.
func (s *API) toIntegrationResponse(in store.Integration, withSecret bool) integrationResponse {
	resp := integrationResponse{
		ID:          in.ID,
		Provider:    string(in.Provider),
		Name:        in.Name,
		IsDefault:   in.IsDefault,
		SpaceID:     in.SpaceID,
		Description: in.Description,
		Labels:      orEmpty(in.Labels),
		VCSChecks:   in.VCSChecks,
		WebhookURL:  s.webhookURL(in),
		CreatedAt:   wireTime(in.CreatedAt),
		UpdatedAt:   wireTime(in.UpdatedAt),
	}
	username := in.Username
	resp.Username = &username
	if kind, err := vcs.Lookup(in.Provider); err == nil {
		kind.RenderIntegration(in, &resp)
	} else {
		resp.Warnings = append(resp.Warnings, err.Error())
	}
	secret, err := s.box.WebhookSecret(in)
	if err != nil {
		s.logger.Error("webhook secret does not open", "integration_id", in.ID, "error", err.Error())
		resp.Warnings = append(resp.Warnings, unreadableSecretWarning)
		return resp
	}
	resp.WebhookSecretFingerprint = bitbucket.Secret(secret).Fingerprint()
	if withSecret {
		resp.WebhookSecret = secret
	}
	return resp
}

func (s *API) writeIntegration(w http.ResponseWriter, status int, in store.Integration, withSecret bool) {
	writeJSON(w, status, s.toIntegrationResponse(in, withSecret))
}

// writeIntegrationFor writes in, with its webhook secret when p may see it.
func (s *API) writeIntegrationFor(w http.ResponseWriter, status int, in store.Integration, p *principal) error {
	withSecret, err := canSeeSecret(p, in)
	if err != nil {
		return err
	}
	s.writeIntegration(w, status, in, withSecret)
	return nil
}

// fieldSet pairs a request field with whether it breaks a rule, checked in order so
// the reported field is deterministic.
type fieldSet struct {
	field string
	set   bool
}

type pendingCredential = vcs.PendingCredential

// decodeIntegration reads the body of POST or PUT and builds it (see buildIntegration).
func decodeIntegration(r *http.Request, p *principal, lim limits, current *store.Integration) (store.Integration, *pendingCredential, error) {
	var req integrationRequest
	if err := decodeBody(r, &req); err != nil {
		return store.Integration{}, nil, err
	}
	return buildIntegration(p, lim, &req, current)
}

// buildIntegration validates req against the rules of API.md and returns the
// integration to store (not yet sealed) and the new credential, if one was sent.
// current is nil on create.
func buildIntegration(p *principal, lim limits, req *integrationRequest, current *store.Integration) (store.Integration, *pendingCredential, error) {
	var in store.Integration
	var kind vcs.Kind
	if err := checkSizes(
		sizeRule{"provider", req.Provider, maxNameLen},
		sizeRule{"name", req.Name, maxNameLen},
		sizeRule{"space_id", req.SpaceID, maxIDLen},
		sizeRule{"description", req.Description, maxDescriptionLen},
		sizeRule{"vcs_checks", req.VCSChecks, maxNameLen},
		sizeRule{"email", req.Email, maxEmailLen},
		sizeRule{"username", req.Username, maxUsernameLen},
		sizeRule{"api_token", deref(req.APIToken), maxCredentialLen},
		sizeRule{"app_password", deref(req.AppPassword), maxCredentialLen},
		sizeRule{"access_token", deref(req.AccessToken), maxCredentialLen},
		sizeRule{"api_host", req.APIHost, maxURLLen},
		sizeRule{"user_facing_host", req.UserFacingHost, maxURLLen},
	); err != nil {
		return in, nil, err
	}
	if current == nil {
		if req.Provider == "" {
			return in, nil, invalidArg("provider", "provider is required: one of %s", strings.Join(vcs.Names(), ", "))
		}
		k, err := vcs.Lookup(store.Provider(req.Provider))
		if err != nil {
			return in, nil, invalidArg("provider", "%s", err.Error())
		}
		kind, in.Provider = k, k.Name()
		if req.Name == "" {
			return in, nil, invalidArg("name", "name is required")
		}
		if !integrationNamePattern.MatchString(req.Name) {
			return in, nil, invalidArg("name", "name must match %s (it becomes part of the webhook URL)", integrationNamePattern.String())
		}
		in.Name = req.Name
	} else {
		if req.Provider != "" && req.Provider != string(current.Provider) {
			return in, nil, invalidArg("provider", "provider cannot be changed; create a new integration instead")
		}
		if req.Name != "" && req.Name != current.Name {
			return in, nil, invalidArg("name", "name cannot be changed (the webhook URL derives from it); create a new integration instead")
		}
		k, err := vcs.Lookup(current.Provider)
		if err != nil {
			return in, nil, invalidArg("provider", "%s; this integration can only be deleted", err.Error())
		}
		kind, in = k, *current
		// nil keeps what is stored at the moment of the write, so a rotate (or a
		// credential change) committed since current was read is not undone.
		in.SealedCredential = nil
		in.SealedWebhookSecret = nil
	}

	switch {
	case req.IsDefault && req.SpaceID != "":
		return in, nil, invalidArg("space_id", "a default integration lives in the root space: set is_default or space_id, not both")
	case !req.IsDefault && req.SpaceID == "":
		return in, nil, invalidArg("space_id", "space_id is required unless is_default is true")
	}
	in.IsDefault = req.IsDefault
	in.SpaceID = req.SpaceID
	if in.IsDefault {
		in.SpaceID = store.RootSpaceID
	}
	rank, err := p.EffectiveRole(in.SpaceID)
	if err != nil {
		return in, nil, err
	}
	if in.IsDefault && rank < roleRank[store.RoleAdmin] {
		// root always exists, so saying why reveals nothing.
		ae := errPermission("a default integration lives in the root space: creating or changing one needs the admin role on root")
		ae.Field = "is_default"
		return in, nil, ae
	}
	if rank < roleRank[store.RoleRead] {
		return in, nil, invalidArg("space_id", "space %q does not exist", in.SpaceID)
	}
	if rank < roleRank[store.RoleAdmin] {
		ae := errPermission(fmt.Sprintf("managing integrations needs the admin role on space %q", in.SpaceID))
		if in.IsDefault {
			ae.Field = "is_default"
		} else {
			ae.Field = "space_id"
		}
		return in, nil, ae
	}

	if err := validateDescription(req.Description); err != nil {
		return in, nil, err
	}
	in.Description = req.Description
	labels, err := lim.labels(req.Labels)
	if err != nil {
		return in, nil, err
	}
	in.Labels = labels
	in.VCSChecks = req.VCSChecks
	if in.VCSChecks == "" {
		in.VCSChecks = "individual"
	}
	if !vcsChecksValues[in.VCSChecks] {
		return in, nil, invalidArg("vcs_checks", "vcs_checks must be individual, aggregated or all")
	}

	for _, c := range []fieldSet{
		{"api_token", req.APIToken != nil && *req.APIToken == ""},
		{"app_password", req.AppPassword != nil && *req.AppPassword == ""},
		{"access_token", req.AccessToken != nil && *req.AccessToken == ""},
	} {
		if c.set {
			return in, nil, invalidArg(c.field, "%s must not be empty; omit it to keep the stored value", c.field)
		}
	}
	return kind.BuildIntegration(req, in, current)
}

// checkCredentials runs the configured checker unless the query says not to.
func (s *API) checkCredentials(ctx context.Context, r *http.Request, in store.Integration, credential string) error {
	if !s.wantsCheck(r) {
		return nil
	}
	check := s.runCheck(ctx, in, credential)
	if check.Valid {
		return nil
	}
	msg := check.Message
	if msg == "" {
		msg = "the credential was rejected by Bitbucket (" + check.Reason + ")"
	}
	field := ""
	if kind, err := vcs.Lookup(in.Provider); err == nil {
		field = kind.CredentialField(in, check.Reason)
	}
	return invalidArg(field, "%s", msg)
}

// runCheck runs the checker and logs a failed check's raw outcome with the request
// id: the caller sees only the classified message.
func (s *API) runCheck(ctx context.Context, in store.Integration, credential string) vcs.CredentialCheck {
	check := s.checker.Check(ctx, in, credential)
	if !check.Valid {
		s.logger.Warn("credential check failed",
			"request_id", httpx.InfoFrom(ctx).RequestID,
			"integration_id", in.ID,
			"integration", in.Name,
			"provider", string(in.Provider),
			"api_host", in.APIHost,
			"reason", check.Reason,
			"detail", check.Detail)
	}
	return check
}

// wantsCheck: a checker is configured and the query does not turn it off.
func (s *API) wantsCheck(r *http.Request) bool {
	return s.checker != nil && r.URL.Query().Get("check_credentials") != "false"
}

func parseCheckParam(r *http.Request) error {
	switch r.URL.Query().Get("check_credentials") {
	case "", "true", "false":
		return nil
	}
	return invalidArg("check_credentials", "check_credentials must be true or false")
}

func (s *API) createIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := parseCheckParam(r); err != nil {
		return err
	}
	in, cred, err := decodeIntegration(r, p, s.limits, nil)
	if err != nil {
		return err
	}
	if err := s.checkPrivatePool(r.Context(), p, in); err != nil {
		return err
	}
	if err := s.checkCredentials(r.Context(), r, in, cred.Plaintext); err != nil {
		return err
	}
	// The id is chosen here, not by the store, because the secrets are sealed to it.
	in.ID = store.NewID(in.Name, "integration")
	if err := s.box.SealCredential(&in, cred.Plaintext); err != nil {
		return err
	}
	if in.SealedWebhookSecret, err = s.box.NewWebhookSecret(in); err != nil {
		return err
	}
	// Everything that can fail happens before the write (here: the role lookup), so a
	// create that answers an error never leaves its integration behind.
	withSecret, err := canSeeSecret(p, in)
	if err != nil {
		return err
	}
	return s.respondCreated(w, r, http.StatusCreated, func(ctx context.Context) (any, error) {
		created, err := s.store.CreateIntegration(ctx, in)
		if err != nil {
			return nil, s.explainIntegrationConflict(r.Context(), p, in, err)
		}
		return s.toIntegrationResponse(created, withSecret), nil
	})
}

// readableIntegration loads an integration, answering 404 when the caller cannot read
// its space.
func (s *API) readableIntegration(r *http.Request, p *principal) (store.Integration, error) {
	in, err := s.store.GetIntegration(r.Context(), r.PathValue("id"))
	if err != nil {
		return store.Integration{}, err
	}
	if ok, err := p.Can(in.SpaceID, store.RoleRead); err != nil {
		return store.Integration{}, err
	} else if !ok {
		return store.Integration{}, errNotFound("integration")
	}
	return in, nil
}

// adminIntegration is readableIntegration plus the admin role on its space.
func (s *API) adminIntegration(r *http.Request, p *principal) (store.Integration, error) {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return in, err
	}
	if err := p.RequireRole(in.SpaceID, store.RoleAdmin, "integration"); err != nil {
		return in, err
	}
	return in, nil
}

func (s *API) getIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return err
	}
	return s.writeIntegrationFor(w, http.StatusOK, in, p)
}

func (s *API) listIntegrations(w http.ResponseWriter, r *http.Request, p *principal) error {
	lp, err := parseListParams(r, s.limits)
	if err != nil {
		return err
	}
	provider := store.Provider(r.URL.Query().Get("provider"))
	if provider != "" {
		if _, err := vcs.Lookup(provider); err != nil {
			return invalidArg("provider", "%s", err.Error())
		}
	}
	resp := listResponse[integrationResponse]{Items: []integrationResponse{}}
	f, ok, err := lp.filter(p)
	if err != nil {
		return err
	}
	if ok {
		f.Provider = provider
		integrations, next, err := s.store.ListIntegrations(r.Context(), f)
		if err != nil {
			return err
		}
		for _, in := range integrations {
			withSecret, err := canSeeSecret(p, in)
			if err != nil {
				return err
			}
			resp.Items = append(resp.Items, s.toIntegrationResponse(in, withSecret))
		}
		resp.NextPageToken = next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *API) updateIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := parseCheckParam(r); err != nil {
		return err
	}
	current, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	in, cred, err := decodeIntegration(r, p, s.limits, &current)
	if err != nil {
		return err
	}
	if err := s.checkPrivatePool(r.Context(), p, in); err != nil {
		return err
	}
	if in.IsDefault != current.IsDefault || in.SpaceID != current.SpaceID {
		if err := s.bindingsStayVisible(r, p, in); err != nil {
			return err
		}
	}
	if s.wantsCheck(r) {
		credential := ""
		if cred != nil {
			credential = cred.Plaintext
		} else if credential, err = s.box.Credential(current); err != nil {
			return err
		}
		if err := s.checkCredentials(r.Context(), r, in, credential); err != nil {
			return err
		}
	}
	if cred != nil {
		if err := s.box.SealCredential(&in, cred.Plaintext); err != nil {
			return err
		}
	}
	// Everything that can fail happens before the write: a PUT that answers an error
	// never leaves its change committed. After it, only rendering, which cannot fail.
	withSecret, err := canSeeSecret(p, in)
	if err != nil {
		return err
	}
	if hook := s.beforeIntegrationUpdate.Load(); hook != nil {
		(*hook)()
	}
	updated, err := s.store.UpdateIntegration(r.Context(), in)
	if err != nil {
		return s.explainIntegrationConflict(r.Context(), p, in, err)
	}
	s.writeIntegration(w, http.StatusOK, updated, withSecret)
	return nil
}

func (s *API) deleteIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIntegration(r.Context(), in.ID); err != nil {
		return err
	}
	s.webhookTargets.Forget(in.Provider, in.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *API) rotateIntegrationSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	sealed, err := s.box.NewWebhookSecret(in)
	if err != nil {
		return err
	}
	// A retried rotation must not rotate twice: the client would keep a secret that
	// is already gone.
	err = s.respondCreated(w, r, http.StatusOK, func(ctx context.Context) (any, error) {
		updated, err := s.store.SetWebhookSecret(ctx, in.ID, sealed)
		if err != nil {
			return nil, err
		}
		return s.toIntegrationResponse(updated, true), nil
	})
	if err == nil {
		s.webhookTargets.Forget(in.Provider, in.Name)
	}
	return err
}

func (s *API) getIntegrationWebhook(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	secret, err := s.box.WebhookSecret(in)
	if err != nil {
		httpx.InfoFrom(r.Context()).InternalErr = err
		return &apiError{Status: http.StatusInternalServerError, Code: codeInternal,
			Message: "the webhook secret of this integration cannot be opened with the server's secret key; rotate it (POST /api/v1/integrations/{id}/rotate-secret)"}
	}
	kind, err := vcs.Lookup(in.Provider)
	if err != nil {
		return invalidArg("provider", "%s", err.Error())
	}
	writeJSON(w, http.StatusOK, apiwire.IntegrationWebhook{
		IntegrationID:  in.ID,
		Provider:       string(in.Provider),
		WebhookURL:     s.webhookURL(in),
		WebhookSecret:  secret,
		RequiredEvents: kind.DefaultEvents(),
	})
	return nil
}

func (s *API) validateIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	if s.checker == nil {
		writeJSON(w, http.StatusOK, apiwire.Validation{Valid: true, Reason: vcs.CheckSkipped, Message: "credential check not configured"})
		return nil
	}
	credential, err := s.box.Credential(in)
	if err != nil {
		return err
	}
	check := s.runCheck(r.Context(), in, credential)
	writeJSON(w, http.StatusOK, apiwire.Validation{Valid: check.Valid, Reason: check.Reason, Message: check.Message})
	return nil
}

// explainIntegrationConflict turns the store's conflict on name or is_default into a
// 409 that names the integration in the way (id and name) when the caller can read
// it, so that a client can suggest importing it or releasing the default. Other errors
// pass through.
func (s *API) explainIntegrationConflict(ctx context.Context, p *principal, in store.Integration, err error) error {
	var ce *store.ConflictError
	if !errors.As(err, &ce) {
		return err
	}
	var other store.Integration
	var found bool
	switch ce.Field {
	case "name":
		got, getErr := s.store.GetIntegrationByName(ctx, in.Provider, in.Name)
		other, found = got, getErr == nil && got.ID != in.ID
	case "is_default":
		other, found = s.currentDefault(ctx, in.Provider)
	default:
		return err
	}
	if found {
		if readable, canErr := p.Can(other.SpaceID, store.RoleRead); canErr != nil || !readable {
			found = false
		}
	}
	ae := errConflict(ce.Field, ce.Reason)
	if !found {
		return ae
	}
	ae.ExistingID = other.ID
	switch ce.Field {
	case "name":
		ae.Message = fmt.Sprintf("an integration of this provider named %q already exists (id %q)", other.Name, other.ID)
	case "is_default":
		ae.Message = fmt.Sprintf("this provider already has a default integration: %q (id %q); make it non-default first", other.Name, other.ID)
	}
	return ae
}

// currentDefault finds the default integration of a provider (it lives in root).
func (s *API) currentDefault(ctx context.Context, provider store.Provider) (store.Integration, bool) {
	f := store.ListFilter{Provider: provider, SpaceIDs: []string{store.RootSpaceID}, PageSize: 500}
	for {
		page, next, err := s.store.ListIntegrations(ctx, f)
		if err != nil {
			return store.Integration{}, false
		}
		for _, in := range page {
			if in.IsDefault {
				return in, true
			}
		}
		if next == "" {
			return store.Integration{}, false
		}
		f.PageToken = next
	}
}
