package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// The CRUD and import shared by the integration resources.

// integrationResource is the CRUD and import shared by the integration resources;
// each kind embeds it and adds its schema, validators and model.
type integrationResource[M any, P integrationModel[M]] struct {
	kind   integrationKind
	schema func() schema.Schema // to attach API errors to the attribute the server named
	data   *providerData
}

func (r *integrationResource[M, P]) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (r *integrationResource[M, P]) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, config M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := P(&plan).request(ctx, &resp.Diagnostics)
	var none M
	P(&plan).addCredentials(&in, &none, &config, true)
	if resp.Diagnostics.HasError() {
		return
	}
	created, err := whileDefaultIsTaken(ctx, in.IsDefault, func() (*orbitapi.Integration, error) {
		return client.Integrations.Create(ctx, in)
	})
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not create "+r.kind.displayName+" integration", err, r.schema().Attributes)
		return
	}
	r.data.integrations.put(created)
	P(&plan).fromAPI(created)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	addServerWarnings(&resp.Diagnostics, created)
}

func (r *integrationResource[M, P]) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	id := P(&state).integrationID()
	// Through the shared cache: the webhooks of this integration read it too.
	current, err := r.data.integrations.get(ctx, id)
	if err != nil {
		r.data.handleReadError(ctx, resp, err, r.ref(P(&state)))
		return
	}
	if current.Provider != r.kind.apiProvider {
		resp.Diagnostics.AddError("Wrong integration type",
			"Integration "+current.ID+" is a "+current.Provider+" integration, not "+r.kind.apiProvider+"; import it as the matching resource type.")
		return
	}
	P(&state).fromAPI(current)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *integrationResource[M, P]) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var plan, state, config M
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	in := P(&plan).request(ctx, &resp.Diagnostics)
	P(&plan).addCredentials(&in, &state, &config, false)
	if resp.Diagnostics.HasError() {
		return
	}
	updated, err := whileDefaultIsTaken(ctx, in.IsDefault, func() (*orbitapi.Integration, error) {
		return client.Integrations.Update(ctx, P(&state).integrationID(), in)
	})
	if err != nil {
		addAPIError(&resp.Diagnostics, "Could not update "+r.kind.displayName+" integration", err, r.schema().Attributes)
		return
	}
	if rotationRequested(P(&plan).secretVersion(), P(&state).secretVersion()) {
		rotated, err := client.Integrations.RotateSecret(ctx, updated.ID)
		if err != nil {
			// The update itself went through: keep it in state, at the old version,
			// so the next apply tries the rotation again.
			r.data.integrations.put(updated)
			P(&plan).fromAPI(updated)
			P(&plan).setSecretVersion(P(&state).secretVersion())
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
			resp.Diagnostics.AddAttributeError(path.Root("webhook_secret_version"), "Could not rotate the webhook secret", err.Error())
			return
		}
		tflog.Info(ctx, "rotated the webhook secret of integration "+updated.ID)
		updated = rotated
	}
	r.data.integrations.put(updated)
	P(&plan).fromAPI(updated)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	addServerWarnings(&resp.Diagnostics, updated)
}

func (r *integrationResource[M, P]) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	client := requireClient(r.data, &resp.Diagnostics)
	var state M
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || client == nil {
		return
	}
	if err := client.Integrations.Delete(ctx, P(&state).integrationID()); err != nil {
		r.data.handleDeleteError(ctx, resp, err, r.ref(P(&state)), "")
		if resp.Diagnostics.HasError() {
			return
		}
	}
	r.data.integrations.forget(P(&state).integrationID())
}

func (r *integrationResource[M, P]) ref(m P) objectRef {
	return objectRef{Kind: r.kind.displayName + " integration", ID: m.integrationID(), SpaceID: m.integrationSpaceID()}
}

func (r *integrationResource[M, P]) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
}
