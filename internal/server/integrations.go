package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/cloud"
	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket/datacenter"
	"github.com/orbit-iac/terraform-provider-orbit/internal/rules"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/secretbox"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const (
	authAPIToken    = "api_token"
	authAppPassword = "app_password"

	appPasswordWarning = "Bitbucket Cloud stopped accepting app passwords on 2026-07-28: this integration " +
		"cannot authenticate. Create an API token in Bitbucket (Personal settings > Atlassian account " +
		"settings > Security > API tokens) and update the integration with email + api_token."
)

var vcsChecksValues = func() map[string]bool {
	out := map[string]bool{}
	for _, v := range rules.VCSChecks {
		out[v] = true
	}
	return out
}()

// RequiredEvents are the webhook triggers an integration's repositories must send (SPEC §5);
// the Bitbucket client packages own the lists.
var RequiredEvents = map[store.Provider][]string{
	store.ProviderBitbucketCloud:      cloud.RequiredEvents(),
	store.ProviderBitbucketDataCenter: datacenter.RequiredEvents(),
}

var webhookPathSegment = map[store.Provider]string{
	store.ProviderBitbucketCloud:      "bitbucket-cloud",
	store.ProviderBitbucketDataCenter: "bitbucket-datacenter",
}

// integrationRequest is the body of POST and PUT. Credentials are pointers: absent
// (or null) keeps the stored one on PUT, a value replaces it, "" is rejected.
type integrationRequest struct {
	Provider       string   `json:"provider"`
	Name           string   `json:"name"`
	IsDefault      bool     `json:"is_default"`
	SpaceID        string   `json:"space_id"`
	Description    string   `json:"description"`
	Labels         []string `json:"labels"`
	VCSChecks      string   `json:"vcs_checks"`
	Email          string   `json:"email"`
	Username       string   `json:"username"`
	APIToken       *string  `json:"api_token"`
	AppPassword    *string  `json:"app_password"`
	APIHost        string   `json:"api_host"`
	UserFacingHost string   `json:"user_facing_host"`
	UseGitCheckout bool     `json:"use_git_checkout"`
	AccessToken    *string  `json:"access_token"`
}

type integrationResponse struct {
	ID            string   `json:"id"`
	Provider      string   `json:"provider"`
	Name          string   `json:"name"`
	IsDefault     bool     `json:"is_default"`
	SpaceID       string   `json:"space_id"`
	Description   string   `json:"description"`
	Labels        []string `json:"labels"`
	VCSChecks     string   `json:"vcs_checks"`
	WebhookURL    string   `json:"webhook_url"`
	WebhookSecret string   `json:"webhook_secret,omitempty"`
	// WebhookSecretFingerprint lets a reader tell that the secret changed without
	// seeing it (see webhookSecretFingerprint).
	WebhookSecretFingerprint string   `json:"webhook_secret_fingerprint"`
	Email                    *string  `json:"email,omitempty"`
	Username                 *string  `json:"username,omitempty"`
	AuthMethod               *string  `json:"auth_method,omitempty"`
	APIHost                  *string  `json:"api_host,omitempty"`
	UserFacingHost           *string  `json:"user_facing_host,omitempty"`
	UseGitCheckout           *bool    `json:"use_git_checkout,omitempty"`
	Warnings                 []string `json:"warnings,omitempty"`
	CreatedAt                string   `json:"created_at"`
	UpdatedAt                string   `json:"updated_at"`
}

type webhookResponse struct {
	IntegrationID  string   `json:"integration_id"`
	Provider       string   `json:"provider"`
	WebhookURL     string   `json:"webhook_url"`
	WebhookSecret  string   `json:"webhook_secret"`
	RequiredEvents []string `json:"required_events"`
}

type validateResponse struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Additional data binds each sealed value to its integration's immutable id and
// its purpose, so a ciphertext copied to another row or column does not open, nor
// does one left from a deleted integration in a later one of the same name.
func credentialAD(integrationID string) []byte {
	return secretbox.AssociatedData("integration", integrationID, "credential")
}

func webhookSecretAD(integrationID string) []byte {
	return secretbox.AssociatedData("integration", integrationID, "webhook_secret")
}

func (s *Server) webhookURL(in store.Integration) string {
	return s.publicURL + "/webhooks/" + webhookPathSegment[in.Provider] + "/" + in.Name
}

// newSealedWebhookSecret makes 32 random bytes, hex-encoded, sealed for in (whose
// ID must be set).
func (s *Server) newSealedWebhookSecret(in store.Integration) ([]byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	return s.box.Seal([]byte(hex.EncodeToString(raw[:])), webhookSecretAD(in.ID))
}

func (s *Server) webhookSecret(in store.Integration) (string, error) {
	plain, err := s.box.Open(in.SealedWebhookSecret, webhookSecretAD(in.ID))
	if err != nil {
		return "", fmt.Errorf("open webhook secret of integration %s: %w", in.ID, err)
	}
	return string(plain), nil
}

func (s *Server) sealCredential(in *store.Integration, plaintext string) (err error) {
	in.SealedCredential, err = s.box.Seal([]byte(plaintext), credentialAD(in.ID))
	return err
}

func (s *Server) storedCredential(in store.Integration) (string, error) {
	plain, err := s.box.Open(in.SealedCredential, credentialAD(in.ID))
	if err != nil {
		return "", fmt.Errorf("open credential of integration %s: %w", in.ID, err)
	}
	return string(plain), nil
}

// canSeeSecret: the webhook secret is for admins of the integration's space (root for
// a default integration, which lives there).
func canSeeSecret(p *principal, in store.Integration) (bool, error) {
	return p.can(in.SpaceID, store.RoleAdmin)
}

// unreadableSecretWarning is added to an integration whose webhook secret does not
// open (a damaged row: the server checks its key against the database at start).
const unreadableSecretWarning = "The webhook secret of this integration cannot be opened with the server's secret key, " +
	"so it is left out. Rotate it (POST /api/v1/integrations/{id}/rotate-secret) and update the webhook in Bitbucket."

// toIntegrationResponse renders in; it cannot fail, so a handler can call it after its
// write has committed. A webhook secret that does not open is left out with a warning
// (and logged), so one damaged row does not fail a whole list.
func (s *Server) toIntegrationResponse(in store.Integration, withSecret bool) integrationResponse {
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
		CreatedAt:   rfc3339(in.CreatedAt),
		UpdatedAt:   rfc3339(in.UpdatedAt),
	}
	username := in.Username
	resp.Username = &username
	switch in.Provider {
	case store.ProviderBitbucketCloud:
		email, auth := in.Email, in.AuthMethod
		resp.Email, resp.AuthMethod = &email, &auth
		if auth == authAppPassword {
			resp.Warnings = []string{appPasswordWarning}
		}
	case store.ProviderBitbucketDataCenter:
		apiHost, userFacing, gitCheckout := in.APIHost, in.UserFacingHost, in.UseGitCheckout
		resp.APIHost, resp.UserFacingHost, resp.UseGitCheckout = &apiHost, &userFacing, &gitCheckout
	}
	secret, err := s.webhookSecret(in)
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

func (s *Server) writeIntegration(w http.ResponseWriter, status int, in store.Integration, withSecret bool) {
	writeJSON(w, status, s.toIntegrationResponse(in, withSecret))
}

// writeIntegrationFor writes in, with its webhook secret when p may see it.
func (s *Server) writeIntegrationFor(w http.ResponseWriter, status int, in store.Integration, p *principal) error {
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

// pendingCredential is a credential sent in a request, not yet sealed.
type pendingCredential struct {
	field     string
	plaintext string
}

// decodeIntegration reads the body of POST or PUT and builds it (see buildIntegration).
func decodeIntegration(r *http.Request, p *principal, current *store.Integration) (store.Integration, *pendingCredential, error) {
	var req integrationRequest
	if err := decodeBody(r, &req); err != nil {
		return store.Integration{}, nil, err
	}
	return buildIntegration(p, &req, current)
}

// buildIntegration validates req against the rules of API.md and returns the
// integration to store (not yet sealed) and the new credential, if one was sent.
// current is nil on create.
func buildIntegration(p *principal, req *integrationRequest, current *store.Integration) (store.Integration, *pendingCredential, error) {
	var in store.Integration
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
		switch store.Provider(req.Provider) {
		case store.ProviderBitbucketCloud, store.ProviderBitbucketDataCenter:
			in.Provider = store.Provider(req.Provider)
		case "":
			return in, nil, invalidArg("provider", "provider is required: bitbucket_cloud or bitbucket_datacenter")
		default:
			return in, nil, invalidArg("provider", "provider must be bitbucket_cloud or bitbucket_datacenter")
		}
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
		in = *current
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
	rank, err := p.effectiveRole(in.SpaceID)
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
	labels, err := p.limits.labels(req.Labels)
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
	if in.Provider == store.ProviderBitbucketCloud {
		return buildCloud(req, in, current)
	}
	return buildDataCenter(req, in, current)
}

func buildCloud(req *integrationRequest, in store.Integration, current *store.Integration) (store.Integration, *pendingCredential, error) {
	for _, c := range []fieldSet{
		{"api_host", req.APIHost != ""}, {"user_facing_host", req.UserFacingHost != ""},
		{"use_git_checkout", req.UseGitCheckout}, {"access_token", req.AccessToken != nil},
	} {
		if c.set {
			return in, nil, invalidArg(c.field, "%s is a bitbucket_datacenter field, not used by bitbucket_cloud", c.field)
		}
	}
	in.APIHost, in.UserFacingHost, in.UseGitCheckout = "", "", false
	in.Email, in.Username = req.Email, req.Username

	authMethod := ""
	var cred *pendingCredential
	switch {
	case req.AppPassword != nil:
		if req.APIToken != nil || req.Email != "" {
			return in, nil, invalidArg("app_password", "use either email + api_token or the legacy username + app_password, not both")
		}
		authMethod = authAppPassword
		cred = &pendingCredential{field: "app_password", plaintext: *req.AppPassword}
	case req.APIToken != nil:
		authMethod = authAPIToken
		cred = &pendingCredential{field: "api_token", plaintext: *req.APIToken}
	case current != nil && current.AuthMethod == authAppPassword && req.Email == "":
		authMethod = authAppPassword
	case current != nil && current.AuthMethod == authAppPassword:
		return in, nil, invalidArg("api_token", "api_token is required to switch from app_password to email + api_token")
	case current != nil:
		authMethod = authAPIToken
	case req.Username != "" && req.Email == "":
		return in, nil, invalidArg("app_password", "app_password is required with username (better: use email + api_token)")
	default:
		if req.Email != "" {
			if err := validateEmail(req.Email); err != nil {
				return in, nil, err
			}
		}
		return in, nil, invalidArg("api_token", "api_token is required")
	}
	in.AuthMethod = authMethod
	if authMethod == authAppPassword {
		if in.Username == "" {
			return in, nil, invalidArg("username", "username is required with app_password")
		}
	} else {
		if in.Email == "" {
			return in, nil, invalidArg("email", "email is required with api_token")
		}
		if err := validateEmail(in.Email); err != nil {
			return in, nil, err
		}
	}
	return in, cred, nil
}

func buildDataCenter(req *integrationRequest, in store.Integration, current *store.Integration) (store.Integration, *pendingCredential, error) {
	for _, c := range []fieldSet{
		{"email", req.Email != ""}, {"api_token", req.APIToken != nil}, {"app_password", req.AppPassword != nil},
	} {
		if c.set {
			return in, nil, invalidArg(c.field, "%s is a bitbucket_cloud field, not used by bitbucket_datacenter", c.field)
		}
	}
	in.Email, in.AuthMethod = "", ""
	if req.APIHost == "" {
		return in, nil, invalidArg("api_host", "api_host is required: an https:// URL or private://<pool>")
	}
	private, err := validateAPIHost(req.APIHost)
	if err != nil {
		return in, nil, err
	}
	in.APIHost = req.APIHost
	switch {
	case req.UserFacingHost != "":
		if err := validateServerURL("user_facing_host", req.UserFacingHost); err != nil {
			return in, nil, err
		}
		in.UserFacingHost = req.UserFacingHost
	case private:
		return in, nil, invalidArg("user_facing_host", "user_facing_host is required when api_host is private://…, since users cannot open that address")
	default:
		in.UserFacingHost = req.APIHost
	}
	if req.Username == "" {
		return in, nil, invalidArg("username", "username is required")
	}
	in.Username = req.Username
	in.UseGitCheckout = req.UseGitCheckout
	var cred *pendingCredential
	switch {
	case req.AccessToken != nil:
		cred = &pendingCredential{field: "access_token", plaintext: *req.AccessToken}
	case current == nil:
		return in, nil, invalidArg("access_token", "access_token is required")
	}
	return in, cred, nil
}

// validateAPIHost accepts an https URL or private://<pool>; private reports the latter.
func validateAPIHost(raw string) (private bool, err error) {
	if pool, ok := strings.CutPrefix(raw, "private://"); ok {
		if !poolPattern.MatchString(pool) {
			return true, invalidArg("api_host", "api_host private://<pool>: pool must match %s", poolPattern.String())
		}
		return true, nil
	}
	return false, validateServerURL("api_host", raw)
}

// validateServerURL is validateHTTPSURL, except that plain http:// is accepted on a
// loopback host, so that a local sandbox can stand in for Bitbucket Data Center.
func validateServerURL(field, raw string) error {
	if u, err := url.Parse(raw); err == nil && u.Scheme == "http" {
		if !bitbucket.IsLoopbackHost(u.Hostname()) {
			return invalidArg(field, "%s may use http:// only on a loopback host (localhost, 127.0.0.0/8, ::1); use https://", field)
		}
		// Checked as https otherwise: the same rules on host, user info, query and fragment.
		u.Scheme = "https"
		return validateHTTPSURL(field, u.String())
	}
	return validateHTTPSURL(field, raw)
}

func validateHTTPSURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Hostname() == "" {
		if field == "api_host" {
			return invalidArg(field, "api_host must be an https:// URL or private://<pool>")
		}
		return invalidArg(field, "%s must be an https:// URL", field)
	}
	if u.User != nil {
		return invalidArg(field, "%s must not contain user info; credentials go in their own fields", field)
	}
	// The rest (query, fragment, port 1-65535) as the provider checks it.
	if problem := rules.URLProblem(raw, rules.URLRule{}); problem != "" {
		return invalidArg(field, "%s is not acceptable: %s", field, problem)
	}
	return nil
}

// checkCredentials runs the configured checker unless the query says not to.
func (s *Server) checkCredentials(ctx context.Context, r *http.Request, in store.Integration, credential string) error {
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
	return invalidArg(credentialField(in, check.Reason), "%s", msg)
}

// runCheck runs the checker and logs a failed check's raw outcome with the request
// id: the caller sees only the classified message.
func (s *Server) runCheck(ctx context.Context, in store.Integration, credential string) CredentialCheck {
	check := s.checker.Check(ctx, in, credential)
	if !check.Valid {
		s.logger.Warn("credential check failed",
			"request_id", requestInfoFrom(ctx).requestID,
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
func (s *Server) wantsCheck(r *http.Request) bool {
	return s.checker != nil && r.URL.Query().Get("check_credentials") != "false"
}

func parseCheckParam(r *http.Request) error {
	switch r.URL.Query().Get("check_credentials") {
	case "", "true", "false":
		return nil
	}
	return invalidArg("check_credentials", "check_credentials must be true or false")
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := parseCheckParam(r); err != nil {
		return err
	}
	in, cred, err := decodeIntegration(r, p, nil)
	if err != nil {
		return err
	}
	if err := s.checkCredentials(r.Context(), r, in, cred.plaintext); err != nil {
		return err
	}
	// The id is chosen here, not by the store, because the secrets are sealed to it.
	in.ID = store.NewID(in.Name, "integration")
	if err := s.sealCredential(&in, cred.plaintext); err != nil {
		return err
	}
	if in.SealedWebhookSecret, err = s.newSealedWebhookSecret(in); err != nil {
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
func (s *Server) readableIntegration(r *http.Request, p *principal) (store.Integration, error) {
	in, err := s.store.GetIntegration(r.Context(), r.PathValue("id"))
	if err != nil {
		return store.Integration{}, err
	}
	if ok, err := p.can(in.SpaceID, store.RoleRead); err != nil {
		return store.Integration{}, err
	} else if !ok {
		return store.Integration{}, errNotFound("integration")
	}
	return in, nil
}

// adminIntegration is readableIntegration plus the admin role on its space.
func (s *Server) adminIntegration(r *http.Request, p *principal) (store.Integration, error) {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return in, err
	}
	if err := p.requireRole(in.SpaceID, store.RoleAdmin, "integration"); err != nil {
		return in, err
	}
	return in, nil
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.readableIntegration(r, p)
	if err != nil {
		return err
	}
	return s.writeIntegrationFor(w, http.StatusOK, in, p)
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request, p *principal) error {
	lp, err := parseListParams(r, p.limits)
	if err != nil {
		return err
	}
	provider := store.Provider(r.URL.Query().Get("provider"))
	if provider != "" && webhookPathSegment[provider] == "" {
		return invalidArg("provider", "provider must be bitbucket_cloud or bitbucket_datacenter")
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

func (s *Server) updateIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	if err := parseCheckParam(r); err != nil {
		return err
	}
	current, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	in, cred, err := decodeIntegration(r, p, &current)
	if err != nil {
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
			credential = cred.plaintext
		} else if credential, err = s.storedCredential(current); err != nil {
			return err
		}
		if err := s.checkCredentials(r.Context(), r, in, credential); err != nil {
			return err
		}
	}
	if cred != nil {
		if err := s.sealCredential(&in, cred.plaintext); err != nil {
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

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIntegration(r.Context(), in.ID); err != nil {
		return err
	}
	s.webhookTargets.forget(in.Provider, in.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) rotateIntegrationSecret(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	sealed, err := s.newSealedWebhookSecret(in)
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
		s.webhookTargets.forget(in.Provider, in.Name)
	}
	return err
}

func (s *Server) getIntegrationWebhook(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	secret, err := s.webhookSecret(in)
	if err != nil {
		requestInfoFrom(r.Context()).internalErr = err
		return &apiError{Status: http.StatusInternalServerError, Code: codeInternal,
			Message: "the webhook secret of this integration cannot be opened with the server's secret key; rotate it (POST /api/v1/integrations/{id}/rotate-secret)"}
	}
	writeJSON(w, http.StatusOK, webhookResponse{
		IntegrationID:  in.ID,
		Provider:       string(in.Provider),
		WebhookURL:     s.webhookURL(in),
		WebhookSecret:  secret,
		RequiredEvents: RequiredEvents[in.Provider],
	})
	return nil
}

func (s *Server) validateIntegration(w http.ResponseWriter, r *http.Request, p *principal) error {
	in, err := s.adminIntegration(r, p)
	if err != nil {
		return err
	}
	if s.checker == nil {
		writeJSON(w, http.StatusOK, validateResponse{Valid: true, Reason: CheckSkipped, Message: "credential check not configured"})
		return nil
	}
	credential, err := s.storedCredential(in)
	if err != nil {
		return err
	}
	check := s.runCheck(r.Context(), in, credential)
	writeJSON(w, http.StatusOK, validateResponse{Valid: check.Valid, Reason: check.Reason, Message: check.Message})
	return nil
}

// explainIntegrationConflict turns the store's conflict on name or is_default into a
// 409 that names the integration in the way (id and name) when the caller can read
// it, so that a client can suggest importing it or releasing the default. Other errors
// pass through.
func (s *Server) explainIntegrationConflict(ctx context.Context, p *principal, in store.Integration, err error) error {
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
		if readable, canErr := p.can(other.SpaceID, store.RoleRead); canErr != nil || !readable {
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
func (s *Server) currentDefault(ctx context.Context, provider store.Provider) (store.Integration, bool) {
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
