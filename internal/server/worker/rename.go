package worker

import (
	"context"
	"fmt"
	"slices"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// rename decides a delivery that reports a repository renamed or moved: the
// integration's bindings of the repository are pointed at the new namespace/slug when
// the delivery completes (store.RepositoryRename), and the batch's cache sees them
// there at once, so that a push to the new name later in the same batch finds them.
// Each binding keeps the name it had (renamed_from) and the next terraform plan shows
// its repository changing.
//
// The bindings of the repository are those that learnt its stable id (Cloud uuid,
// Data Center id: the payload carries it, and pushes taught it to the bindings), and
// those that still name the old namespace/slug the payload states: a binding matched
// by id follows even when orbit missed an earlier rename.
func (s *Worker) rename(ctx context.Context, integrationID string, ev bitbucket.WebhookEvent, describe string, cache *dispatchCache, result store.DeliveryResult) (store.DeliveryResult, error) {
	rn := ev.Rename
	byName, err := cache.bindings(ctx, s.store, integrationID, rn.OldNamespace, rn.OldRepository)
	if err != nil {
		return result, err
	}
	byID, err := s.store.ListBindingsForRepositoryID(ctx, integrationID, ev.RepositoryID)
	if err != nil {
		return result, err
	}
	newKey := [3]string{integrationID, rn.NewNamespace, rn.NewRepository}
	moved, err := cache.bindings(ctx, s.store, integrationID, rn.NewNamespace, rn.NewRepository)
	if err != nil {
		return result, err
	}
	moved = append([]store.StackBinding(nil), moved...)
	already := map[string]bool{}
	for _, b := range moved {
		already[b.StackID] = true
	}
	renamed := 0
	for _, b := range append(slices.Clone(byName), byID...) {
		if already[b.StackID] {
			continue // at the new name already (a redelivery), or listed twice
		}
		already[b.StackID] = true
		oldKey := [3]string{integrationID, b.Namespace, b.Repository}
		if cached, ok := cache.bindingsOf[oldKey]; ok {
			cache.bindingsOf[oldKey] = slices.DeleteFunc(slices.Clone(cached), func(c store.StackBinding) bool { return c.StackID == b.StackID })
		}
		b.RenamedFromNamespace, b.RenamedFromRepository = b.Namespace, b.Repository
		b.Namespace, b.Repository = rn.NewNamespace, rn.NewRepository
		if ev.RepositoryID != "" {
			b.RepositoryID = ev.RepositoryID
		}
		moved = append(moved, b)
		renamed++
	}
	cache.bindingsOf[newKey] = moved

	from, to := rn.OldNamespace+"/"+rn.OldRepository, rn.NewNamespace+"/"+rn.NewRepository
	result.Rename = &store.RepositoryRename{IntegrationID: integrationID, RepositoryID: ev.RepositoryID,
		OldNamespace: rn.OldNamespace, OldRepository: rn.OldRepository, NewNamespace: rn.NewNamespace, NewRepository: rn.NewRepository}
	result.Decision = store.DecisionRepositoryRenamed
	if renamed == 0 {
		result.Outcome = fmt.Sprintf("%s: renamed from %s to %s; no attached stack is bound to %s", describe, from, to, from)
		return result, nil
	}
	result.Outcome = fmt.Sprintf("%s: renamed from %s to %s; %d binding(s) now name %s (edit the configuration to match)", describe, from, to, renamed, to)
	return result, nil
}

// learnRepositoryID asks the completion of result to give the repository's stable
// id (id, from the payload) to its bindings, when one of them does not have it yet:
// a later rename then finds them by id.
func learnRepositoryID(result *store.DeliveryResult, integrationID, id string, bindings []store.StackBinding) {
	if id == "" {
		return
	}
	for i := range bindings {
		if bindings[i].RepositoryID != id {
			result.RepositoryID, result.IntegrationID = id, integrationID
			bindings[i].RepositoryID = id // the batch's cache holds these
		}
	}
}
