package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

// A binding's host is the integration's user-facing host while attached and the
// snapshot taken at detach time otherwise; the stack's space comes along for checks.
const bindingSelect = `SELECT b.stack_id, b.integration_id, b.provider, b.namespace, b.repository, b.branch,
	b.project_root, b.additional_project_globs, b.pull_request_runs, b.status, b.detached_reason, b.version,
	CASE WHEN b.status = 'attached' THEN COALESCE(i.user_facing_host, '') ELSE b.detached_host END,
	st.space_id, b.created_at, b.updated_at, b.renamed_from_namespace, b.renamed_from_repository, b.repository_id
	FROM stack_vcs_bindings b
	JOIN stacks st ON st.id = b.stack_id
	LEFT JOIN integrations i ON i.id = b.integration_id`

func queryBindings(ctx context.Context, q queryer, where string, args ...any) ([]store.StackBinding, error) {
	rows, err := q.QueryContext(ctx, bindingSelect+` WHERE `+where+` ORDER BY b.stack_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []store.StackBinding{}
	for rows.Next() {
		var (
			b                    store.StackBinding
			provider             string
			createdAt, updatedAt string
			globs                string
		)
		if err := rows.Scan(&b.StackID, &b.IntegrationID, &provider, &b.Namespace, &b.Repository, &b.Branch,
			&b.ProjectRoot, &globs, &b.PullRequestRuns, &b.Status, &b.DetachedReason, &b.Version, &b.Host,
			&b.StackSpaceID, &createdAt, &updatedAt, &b.RenamedFromNamespace, &b.RenamedFromRepository, &b.RepositoryID); err != nil {
			return nil, err
		}
		b.Provider = store.Provider(provider)
		if err := json.Unmarshal([]byte(globs), &b.AdditionalProjectGlobs); err != nil {
			return nil, fmt.Errorf("binding of stack %s: additional_project_globs: %w", b.StackID, err)
		}
		if len(b.AdditionalProjectGlobs) == 0 {
			b.AdditionalProjectGlobs = nil // none reads back as nil, however it was stored
		}
		if b.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, err
		}
		if b.UpdatedAt, err = parseTime(updatedAt); err != nil {
			return nil, err
		}
		items = append(items, b)
	}
	return items, rows.Err()
}

func getBinding(ctx context.Context, q queryer, stackID string) (store.StackBinding, error) {
	items, err := queryBindings(ctx, q, `b.stack_id = $1`, stackID)
	if err != nil {
		return store.StackBinding{}, err
	}
	if len(items) == 0 {
		return store.StackBinding{}, notFound("binding", stackID)
	}
	return items[0], nil
}

func (s *Store) SetStackBinding(ctx context.Context, b store.StackBinding, ifVersion string) (store.StackBinding, bool, error) {
	var (
		out     store.StackBinding
		created bool
	)
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := getStack(ctx, tx, b.StackID); err != nil {
			return err
		}
		// Touching the integration row takes its row lock (on PostgreSQL), so a
		// concurrent DeleteIntegration, which deletes the row before detaching, either
		// waits for this binding and then detaches it, or wins and makes this a 404.
		res, err := tx.ExecContext(ctx, `UPDATE integrations SET updated_at = updated_at WHERE id = $1`, b.IntegrationID)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "integration", b.IntegrationID); err != nil {
			return err
		}
		var provider string
		if err := tx.QueryRowContext(ctx, `SELECT provider FROM integrations WHERE id = $1`, b.IntegrationID).Scan(&provider); err != nil {
			return noRows(err, "integration", b.IntegrationID)
		}
		now := formatTime(s.nowUTC())
		globs, err := encodeGlobs(b.AdditionalProjectGlobs)
		if err != nil {
			return err
		}
		version := store.RandomToken()
		var current string
		err = tx.QueryRowContext(ctx, `SELECT version FROM stack_vcs_bindings WHERE stack_id = $1`, b.StackID).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows) && ifVersion != store.BindingCreateOnly:
			return notFound("binding", b.StackID)
		case errors.Is(err, sql.ErrNoRows):
			created = true
			_, err = tx.ExecContext(ctx, `INSERT INTO stack_vcs_bindings (stack_id, integration_id, provider, namespace, repository,
				branch, project_root, additional_project_globs, pull_request_runs, status, detached_reason, detached_host, version, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'attached', '', '', $10, $11, $12)`,
				b.StackID, b.IntegrationID, provider, b.Namespace, b.Repository, b.Branch, b.ProjectRoot, globs, b.PullRequestRuns, version, now, now)
			if err != nil {
				return s.constraintError(err,
					func() error { return bindingTaken(b.StackID) },
					func() error { return notFound("stack", b.StackID) })
			}
		case err != nil:
			return err
		case ifVersion == store.BindingCreateOnly:
			return bindingTaken(b.StackID)
		case ifVersion != store.BindingAnyVersion && ifVersion != current:
			return store.ErrVersionMismatch
		default:
			_, err = tx.ExecContext(ctx, `UPDATE stack_vcs_bindings SET integration_id = $1, provider = $2, namespace = $3,
				repository = $4, branch = $5, project_root = $6, additional_project_globs = $7, pull_request_runs = $8, status = 'attached',
				detached_reason = '', detached_host = '', version = $9, updated_at = $10,
				renamed_from_namespace = '', renamed_from_repository = '',
				repository_id = CASE WHEN integration_id = $1 AND namespace = $3 AND repository = $4 THEN repository_id ELSE '' END
				WHERE stack_id = $11`,
				b.IntegrationID, provider, b.Namespace, b.Repository, b.Branch, b.ProjectRoot, globs, b.PullRequestRuns, version, now, b.StackID)
			if err != nil {
				return err
			}
		}
		out, err = getBinding(ctx, tx, b.StackID)
		return err
	})
	if err != nil {
		return store.StackBinding{}, false, err
	}
	return out, created, nil
}

// bindingTaken: a create for a stack that already has a binding never replaces it.
func bindingTaken(stackID string) error {
	return &store.ConflictError{Field: "stack_id", Reason: fmt.Sprintf("stack %q already has a VCS binding", stackID)}
}

func (s *Store) GetStackBinding(ctx context.Context, stackID string) (store.StackBinding, error) {
	var b store.StackBinding
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		b, err = getBinding(ctx, tx, stackID)
		return err
	})
	return b, err
}

func (s *Store) DeleteStackBinding(ctx context.Context, stackID, ifVersion string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT version FROM stack_vcs_bindings WHERE stack_id = $1`, stackID).Scan(&current)
		if err != nil {
			return noRows(err, "binding", stackID)
		}
		if ifVersion != store.BindingAnyVersion && ifVersion != current {
			return store.ErrVersionMismatch
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM stack_vcs_bindings WHERE stack_id = $1 AND version = $2`, stackID, current)
		if err != nil {
			return err
		}
		return mustAffect(res, "binding", stackID)
	})
}

func (s *Store) ListIntegrationBindings(ctx context.Context, integrationID string) ([]store.StackBinding, error) {
	return s.listBindings(ctx, `b.integration_id = $1`, integrationID)
}

func (s *Store) ListBindingsForRepository(ctx context.Context, integrationID, namespace, repository string) ([]store.StackBinding, error) {
	return s.listBindings(ctx, `b.integration_id = $1 AND b.namespace = $2 AND b.repository = $3 AND b.status = 'attached'`,
		integrationID, namespace, repository)
}

func (s *Store) ListBindingsForRepositoryID(ctx context.Context, integrationID, repositoryID string) ([]store.StackBinding, error) {
	if repositoryID == "" {
		return []store.StackBinding{}, nil
	}
	return s.listBindings(ctx, `b.integration_id = $1 AND b.repository_id = $2 AND b.status = 'attached'`, integrationID, repositoryID)
}

func (s *Store) listBindings(ctx context.Context, where string, args ...any) ([]store.StackBinding, error) {
	var items []store.StackBinding
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = queryBindings(ctx, tx, where, args...)
		return err
	})
	return items, err
}

// detachBindings marks every binding of a deleted integration detached. It runs in
// DeleteIntegration's transaction after the integration row is gone (see
// SetStackBinding for why in that order).
func detachBindings(ctx context.Context, tx *sql.Tx, in store.Integration, now string) error {
	reason := fmt.Sprintf("integration %q (%s) was deleted; point the binding at another integration to re-attach it", in.Name, in.ID)
	_, err := tx.ExecContext(ctx, `UPDATE stack_vcs_bindings SET status = 'detached', detached_reason = $1, detached_host = $2, updated_at = $3
		WHERE integration_id = $4 AND status = 'attached'`, reason, in.UserFacingHost, now, in.ID)
	return err
}

// encodeGlobs stores a binding's globs as a JSON array ("[]" for none).
func encodeGlobs(globs []string) (string, error) {
	if globs == nil {
		globs = []string{}
	}
	out, err := json.Marshal(globs)
	return string(out), err
}

// renameBindings points the bindings of a renamed repository at its new name (see
// store.RepositoryRename). It runs in CompleteDeliveries' transaction.
func renameBindings(ctx context.Context, tx *sql.Tx, r store.RepositoryRename, now string) error {
	set := `UPDATE stack_vcs_bindings SET namespace = $1, repository = $2,
		renamed_from_namespace = namespace, renamed_from_repository = repository, version = $3, updated_at = $4`
	args := []any{r.NewNamespace, r.NewRepository, store.RandomToken(), now, r.IntegrationID, r.OldNamespace, r.OldRepository}
	where := ` WHERE integration_id = $5 AND namespace = $6 AND repository = $7`
	if r.RepositoryID != "" {
		set += `, repository_id = $8`
		where = ` WHERE integration_id = $5 AND (namespace = $6 AND repository = $7 OR repository_id = $8)`
		args = append(args, r.RepositoryID)
	}
	_, err := tx.ExecContext(ctx, set+where, args...)
	return err
}

// learnRepositoryID gives the bindings of integrationID naming namespace/repository
// the repository's stable id a delivery reported. It runs in CompleteDeliveries'
// transaction.
func learnRepositoryID(ctx context.Context, tx *sql.Tx, integrationID, namespace, repository, id string) error {
	_, err := tx.ExecContext(ctx, `UPDATE stack_vcs_bindings SET repository_id = $1
		WHERE integration_id = $2 AND namespace = $3 AND repository = $4 AND repository_id <> $1`, id, integrationID, namespace, repository)
	return err
}
