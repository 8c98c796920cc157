package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// When may a resource leave state? Only when orbit-server itself answered not_found
// ({"error":{"code":"not_found"}}, see orbitapi.IsNotFound) for an object the key may
// read: orbit-server answers 404 also for objects in spaces the key cannot read, and
// anything else can answer 404 too (a proxy, a wrong path). Every resource's Read goes
// through handleReadError and every Delete through handleDeleteError, so the rule
// lives here only.

// objectRef names the object a call was about.
type objectRef struct {
	// Kind is what users call it in messages, e.g. "space", "Bitbucket Cloud integration".
	Kind string
	ID   string
	// SpaceID is the space the object lives in according to state: the key must be
	// able to read it for a not_found to mean "deleted". "" when state does not say
	// (then only a key with admin on root can conclude the object is gone).
	SpaceID string
}

// access is the key's view of its roles (GET /api/v1/whoami), fetched at configure
// and refreshed when a space is not in it (it may have been created since).
type access struct {
	client *orbitapi.Client
	mu     sync.Mutex
	whoami *orbitapi.Whoami
}

// canRead reports whether the key can read spaceID. It asks orbit-server again when
// the cached answer says no.
func (a *access) canRead(ctx context.Context, spaceID string) (bool, *orbitapi.Whoami, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.whoami != nil && spaceID != "" && a.whoami.Can(spaceID, orbitapi.RoleRead) {
		return true, a.whoami, nil
	}
	fresh, err := a.client.Whoami(ctx)
	if err != nil {
		return false, a.whoami, err
	}
	a.whoami = fresh
	if spaceID == "" {
		return fresh.Role(orbitapi.RootSpaceID) == orbitapi.RoleAdmin, fresh, nil
	}
	return fresh.Can(spaceID, orbitapi.RoleRead), fresh, nil
}

// goneFromServer reports whether err means obj was deleted: orbit-server's not_found
// for an object whose space the key can read. When it does not, the returned
// diagnostic explains (nil only together with gone = true).
func (pd *providerData) goneFromServer(ctx context.Context, err error, obj objectRef, summary string) (gone bool, d diag.Diagnostic) {
	if !orbitapi.IsNotFound(err) {
		return false, diag.NewErrorDiagnostic(summary, err.Error())
	}
	readable, who, accessErr := pd.access.canRead(ctx, obj.SpaceID)
	if accessErr != nil {
		return false, diag.NewErrorDiagnostic(summary, fmt.Sprintf(
			"orbit-server answered not_found for %s %q, and asking it which spaces this API key can read failed: %s. The resource is kept in state.",
			obj.Kind, obj.ID, accessErr))
	}
	if readable {
		return true, nil
	}
	keyName := "this API key"
	if who != nil {
		keyName = fmt.Sprintf("API key %q (%s)", who.Name, who.ID)
	}
	where := fmt.Sprintf("space %q", obj.SpaceID)
	if obj.SpaceID == "" {
		where = "its space (unknown to the state, as after an import)"
	}
	return false, diag.NewErrorDiagnostic(summary, fmt.Sprintf(
		"orbit-server answered not_found for %s %q, but %s has no read role on %s, and orbit-server also answers not_found for objects a key cannot see. "+
			"So this does not show that the object was deleted, and the resource is kept in state. "+
			"Give the key at least the read role on %s (or admin on root), or use a key that has it. If the object really was deleted, run terraform state rm.",
		obj.Kind, obj.ID, keyName, where, where))
}

// handleReadError is what a resource's Read does with a failed GET: remove the
// resource from state when the object was deleted (see goneFromServer), otherwise
// report the error and keep the state.
func (pd *providerData) handleReadError(ctx context.Context, resp *resource.ReadResponse, err error, obj objectRef) {
	gone, d := pd.goneFromServer(ctx, err, obj, "Could not read "+obj.Kind)
	if !gone {
		resp.Diagnostics.Append(d)
		return
	}
	tflog.Warn(ctx, notFoundMessage(obj.Kind, obj.ID))
	resp.State.RemoveResource(ctx)
}

// handleDeleteError is what a resource's Delete does with a failed DELETE: an object
// already deleted is fine; anything else (including a not_found the key cannot
// vouch for) is an error, and Terraform keeps the resource in state. advice, when set,
// is added to a conflict (what blocks the delete).
func (pd *providerData) handleDeleteError(ctx context.Context, resp *resource.DeleteResponse, err error, obj objectRef, conflictAdvice string) {
	if err == nil {
		return
	}
	summary := "Could not delete " + obj.Kind
	gone, d := pd.goneFromServer(ctx, err, obj, summary)
	switch {
	case gone:
		return
	case orbitapi.IsConflict(err) && conflictAdvice != "":
		resp.Diagnostics.AddError(summary, err.Error()+". "+conflictAdvice)
	default:
		resp.Diagnostics.Append(d)
	}
}

// whoamiDiagnostic turns the configure-time whoami failure into one diagnostic.
func whoamiDiagnostic(client *orbitapi.Client, err error) diag.Diagnostic {
	var apiErr *orbitapi.APIError
	switch {
	case errors.Is(err, orbitapi.ErrNotOrbitServer):
		return attributeError("endpoint", "This endpoint is not orbit-server",
			fmt.Sprintf("%s. Check that endpoint (or %s) is the root URL of orbit-server (for example https://orbit.example.com), not a proxy path or another service. Nothing was read or changed.",
				err, envEndpoint))
	case orbitapi.IsUnauthenticated(err) && errors.As(err, &apiErr):
		return attributeError("api_key", "Orbit API key rejected",
			fmt.Sprintf("orbit-server at %s did not accept the API key (%s). Check api_key in the orbit provider block or the %s environment variable.",
				client.Endpoint(), apiErr.Message, envAPIKey))
	case errors.As(err, &apiErr):
		return attributeError("endpoint", "Orbit endpoint answered with an error",
			fmt.Sprintf("%s. Check that endpoint (or %s) is the root URL of orbit-server and that the server is healthy.", err, envEndpoint))
	default:
		return attributeError("endpoint", "Cannot reach orbit-server",
			fmt.Sprintf("Could not connect to orbit-server at %s: %s. Check endpoint in the orbit provider block (or %s), that the server is running, and that this machine can reach it.",
				client.Endpoint(), err, envEndpoint))
	}
}
