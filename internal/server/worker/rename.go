package worker

import (
	"context"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// rename decides a delivery that reports a repository renamed or moved: the
// integration's bindings that name the old namespace/slug are pointed at the new one
// when the delivery completes (store.RepositoryRename), and the batch's cache sees
// them there at once, so that a push to the new name later in the same batch finds
// them. The binding keeps the old name (renamed_from) and the next terraform plan
// shows its repository changing.
//
// Bindings are matched by the old name the payload states: neither stores the
// repository's id (Cloud sends its uuid, Data Center its numeric id).
func (s *Worker) rename(ctx context.Context, integrationID string, ev bitbucket.WebhookEvent, describe string, cache *dispatchCache, result store.DeliveryResult) (store.DeliveryResult, error) {
	rn := ev.Rename
	old, err := cache.bindings(ctx, s.store, integrationID, rn.OldNamespace, rn.OldRepository)
	if err != nil {
		return result, err
	}
	moved, err := cache.bindings(ctx, s.store, integrationID, rn.NewNamespace, rn.NewRepository)
	if err != nil {
		return result, err
	}
	from, to := rn.OldNamespace+"/"+rn.OldRepository, rn.NewNamespace+"/"+rn.NewRepository
	result.Rename = &store.RepositoryRename{IntegrationID: integrationID,
		OldNamespace: rn.OldNamespace, OldRepository: rn.OldRepository, NewNamespace: rn.NewNamespace, NewRepository: rn.NewRepository}
	result.Decision = store.DecisionRepositoryRenamed
	if len(old) == 0 {
		result.Outcome = fmt.Sprintf("%s: renamed from %s to %s; no attached stack is bound to %s", describe, from, to, from)
		return result, nil
	}
	moved = append([]store.StackBinding(nil), moved...)
	for _, b := range old {
		b.Namespace, b.Repository = rn.NewNamespace, rn.NewRepository
		b.RenamedFromNamespace, b.RenamedFromRepository = rn.OldNamespace, rn.OldRepository
		moved = append(moved, b)
	}
	cache.bindingsOf[[3]string{integrationID, rn.OldNamespace, rn.OldRepository}] = []store.StackBinding{}
	cache.bindingsOf[[3]string{integrationID, rn.NewNamespace, rn.NewRepository}] = moved
	result.Outcome = fmt.Sprintf("%s: renamed from %s to %s; %d binding(s) now name %s (edit the configuration to match)", describe, from, to, len(old), to)
	return result, nil
}
