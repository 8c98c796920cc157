package provider

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Turning orbit-server's answers (errors, conflicts, warnings) into diagnostics.

// addAPIError turns an API error into a diagnostic, attached to the attribute the
// server named when it is one of ours.
func addAPIError(diags *diag.Diagnostics, summary string, err error, attributes map[string]schema.Attribute) {
	var apiErr *orbitapi.APIError
	if errors.As(err, &apiErr) && apiErr.Field != "" {
		if _, ok := attributes[apiErr.Field]; ok {
			diags.AddAttributeError(path.Root(apiErr.Field), summary, apiErr.Error()+conflictAdvice(apiErr))
			return
		}
	}
	diags.AddError(summary, err.Error())
}

// conflictAdvice says what to do about a 409 on a name or on the default.
func conflictAdvice(apiErr *orbitapi.APIError) string {
	if apiErr.StatusCode != http.StatusConflict {
		return ""
	}
	switch {
	case apiErr.Field == "name" && apiErr.ExistingID != "":
		return fmt.Sprintf("\n\nIf that object is the one this resource describes (for example, created by an earlier apply whose answer was lost, or by hand), "+
			"import it instead of creating it: add an import block with id = %q and this resource's address as `to`, or run terraform import <address> %s.",
			apiErr.ExistingID, apiErr.ExistingID)
	case apiErr.Field == "name":
		return "\n\nAn object with this name exists, in a space this API key cannot read. Choose another name, or ask an admin of that space to import or delete it."
	case apiErr.Field == "is_default":
		return fmt.Sprintf("\n\nThere is one default integration per provider type. To move the default, set is_default = false on the current one in the same apply "+
			"(the provider waits up to %s for it to be released), or delete it first.", defaultSwapWait)
	}
	return ""
}

func notFoundMessage(kind, id string) string {
	return fmt.Sprintf("%s %q no longer exists in orbit-server; removing it from state so that the next plan creates it again.", kind, id)
}

// addServerWarnings passes on warnings orbit-server attached to a write, except the
// app password one, which ValidateConfig already gave at plan time.
func addServerWarnings(diags *diag.Diagnostics, in *orbitapi.Integration) {
	if orbitapi.String(in.AuthMethod) == orbitapi.AuthMethodAppPassword {
		return
	}
	for _, warning := range in.Warnings {
		diags.AddWarning("orbit-server warning", warning)
	}
}
