package server

import (
	"context"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// handleStatusJob posts the commit statuses of a run.
func (s *Server) handleStatusJob(ctx context.Context, job store.Job) {
	_ = s.store.DeleteJob(ctx, job.ID)
}
