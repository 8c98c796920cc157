package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/orbit-iac/terraform-provider-orbit/internal/server/store"
)

const integrationColumns = `integrations.id, integrations.provider, integrations.name, integrations.is_default, integrations.space_id,
	integrations.description, integrations.vcs_checks, integrations.email, integrations.username, integrations.auth_method,
	integrations.api_host, integrations.user_facing_host, integrations.use_git_checkout,
	integrations.sealed_credential, integrations.sealed_webhook_secret, integrations.created_at, integrations.updated_at,
	integrations.previous_sealed_webhook_secret, integrations.webhook_secret_rotated_at`

func scanIntegration(row interface{ Scan(...any) error }) (store.Integration, error) {
	var (
		in                             store.Integration
		provider                       string
		sealedCredential, sealedSecret string
		createdAt, updatedAt           string
		previousSecret, rotatedAt      string
		err                            error
	)
	if err = row.Scan(&in.ID, &provider, &in.Name, &in.IsDefault, &in.SpaceID,
		&in.Description, &in.VCSChecks, &in.Email, &in.Username, &in.AuthMethod,
		&in.APIHost, &in.UserFacingHost, &in.UseGitCheckout,
		&sealedCredential, &sealedSecret, &createdAt, &updatedAt,
		&previousSecret, &rotatedAt); err != nil {
		return in, err
	}
	in.Provider = store.Provider(provider)
	if in.SealedCredential, err = decodeSealed(sealedCredential); err != nil {
		return in, fmt.Errorf("integration %q: stored credential: %w", in.ID, err)
	}
	if in.SealedWebhookSecret, err = decodeSealed(sealedSecret); err != nil {
		return in, fmt.Errorf("integration %q: stored webhook secret: %w", in.ID, err)
	}
	if in.PreviousSealedWebhookSecret, err = decodeSealed(previousSecret); err != nil {
		return in, fmt.Errorf("integration %q: stored previous webhook secret: %w", in.ID, err)
	}
	if rotatedAt != "" {
		if in.WebhookSecretRotatedAt, err = parseTime(rotatedAt); err != nil {
			return in, err
		}
	}
	if in.CreatedAt, err = parseTime(createdAt); err != nil {
		return in, err
	}
	if in.UpdatedAt, err = parseTime(updatedAt); err != nil {
		return in, err
	}
	return in, nil
}

// Sealed bytes are kept as base64 TEXT: portable where BLOB and BYTEA are not.
func encodeSealed(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeSealed(v string) ([]byte, error) {
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, errors.New("not base64") // the value itself stays out of the error
	}
	return b, nil
}

func queryIntegrations(ctx context.Context, q queryer, query string, args ...any) ([]store.Integration, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	items := []store.Integration{}
	for rows.Next() {
		in, err := scanIntegration(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		items = append(items, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	labels, err := integrationLabels.loadFor(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Labels = normalizeLabels(labels[items[i].ID])
	}
	return items, nil
}

func getIntegration(ctx context.Context, q queryer, where string, args ...any) (store.Integration, bool, error) {
	items, err := queryIntegrations(ctx, q, `SELECT `+integrationColumns+` FROM integrations WHERE `+where, args...)
	if err != nil || len(items) == 0 {
		return store.Integration{}, false, err
	}
	return items[0], true, nil
}

var (
	errNameTaken     = &store.ConflictError{Field: "name", Reason: "an integration of this provider already has this name"}
	errDefaultExists = &store.ConflictError{Field: "is_default", Reason: "this provider already has a default integration"}
)

// integrationConflict finds which rule a new or changed integration breaks.
// excludeID is the integration being updated ("" on create).
func integrationConflict(ctx context.Context, q queryer, in store.Integration, excludeID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM integrations WHERE provider = $1 AND name = $2 AND id <> $3`,
		string(in.Provider), in.Name, excludeID).Scan(&one)
	if err == nil {
		return errNameTaken
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if in.IsDefault {
		err := q.QueryRowContext(ctx, `SELECT 1 FROM integrations WHERE provider = $1 AND is_default AND id <> $2`,
			string(in.Provider), excludeID).Scan(&one)
		if err == nil {
			return errDefaultExists
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return nil
}

// errLostRace marks a unique violation raised by the database after our own
// checks passed: a concurrent writer won. The transaction is then unusable
// (PostgreSQL aborts it), so the cause is looked up after the rollback.
var errLostRace = errors.New("unique violation")

func (s *Store) explainLostRace(ctx context.Context, err error, in store.Integration, excludeID string) error {
	if !errors.Is(err, errLostRace) {
		return err
	}
	// The reader pool: inside Idempotent the writer connection is still held by
	// the enclosing transaction. The winner has committed, so a reader sees it.
	if cause := integrationConflict(ctx, s.reader, in, excludeID); cause != nil {
		return cause
	}
	return errNameTaken // the winner is gone again; name is the likelier cause
}

func (s *Store) CreateIntegration(ctx context.Context, in store.Integration) (store.Integration, error) {
	if in.ID == "" {
		in.ID = store.NewID(in.Name, "integration")
	}
	if in.IsDefault {
		in.SpaceID = store.RootSpaceID
	}
	in.Labels = normalizeLabels(in.Labels)
	in.CreatedAt = s.nowUTC()
	in.UpdatedAt = in.CreatedAt
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		if err := requireSpace(ctx, tx, in.SpaceID); err != nil {
			return err
		}
		if err := integrationConflict(ctx, tx, in, ""); err != nil {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM integrations WHERE id = $1`, in.ID).Scan(&one); err == nil {
			return &store.ConflictError{Field: "id", Reason: "an integration with this id exists"}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO integrations (id, provider, name, is_default, space_id, description, vcs_checks,
			email, username, auth_method, api_host, user_facing_host, use_git_checkout,
			sealed_credential, sealed_webhook_secret, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			in.ID, string(in.Provider), in.Name, in.IsDefault, in.SpaceID, in.Description, in.VCSChecks,
			in.Email, in.Username, in.AuthMethod, in.APIHost, in.UserFacingHost, in.UseGitCheckout,
			encodeSealed(in.SealedCredential), encodeSealed(in.SealedWebhookSecret), formatTime(in.CreatedAt), formatTime(in.UpdatedAt))
		if err != nil {
			return s.constraintError(err,
				func() error { return errLostRace },
				func() error { return notFound("space", in.SpaceID) })
		}
		return integrationLabels.replace(ctx, tx, in.ID, in.Labels)
	})
	if err != nil {
		return store.Integration{}, s.explainLostRace(ctx, err, in, "")
	}
	return in, nil
}

func (s *Store) GetIntegration(ctx context.Context, id string) (store.Integration, error) {
	return s.getIntegrationWhere(ctx, id, `id = $1`, id)
}

func (s *Store) GetIntegrationByName(ctx context.Context, p store.Provider, name string) (store.Integration, error) {
	return s.getIntegrationWhere(ctx, string(p)+"/"+name, `provider = $1 AND name = $2`, string(p), name)
}

func (s *Store) getIntegrationWhere(ctx context.Context, what, where string, args ...any) (store.Integration, error) {
	var in store.Integration
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		got, ok, err := getIntegration(ctx, tx, where, args...)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("integration", what)
		}
		in = got
		return nil
	})
	return in, err
}

func (s *Store) ListIntegrations(ctx context.Context, f store.ListFilter) ([]store.Integration, string, error) {
	q, ok, err := s.newListQuery(f, "integrations.space_id", integrationLabels, "integrations.id")
	if err != nil || !ok {
		return []store.Integration{}, "", err
	}
	if f.Provider != "" {
		q.add(`integrations.provider = `, string(f.Provider))
	}
	var items []store.Integration
	err = s.inReadTx(ctx, func(tx *sql.Tx) error {
		var err error
		items, err = queryIntegrations(ctx, tx, `SELECT `+integrationColumns+` FROM integrations`+q.suffix("integrations.id"), q.args...)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	items, next := page(items, q.limit, func(in store.Integration) (string, string) { return in.Name, in.ID })
	return items, next, nil
}

func (s *Store) UpdateIntegration(ctx context.Context, in store.Integration) (store.Integration, error) {
	if in.IsDefault {
		in.SpaceID = store.RootSpaceID
	}
	in.Labels = normalizeLabels(in.Labels)
	var out store.Integration
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		current, ok, err := getIntegration(ctx, tx, `id = $1`, in.ID)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("integration", in.ID)
		}
		// Provider and name are immutable: checks run against the stored ones.
		in.Provider, in.Name = current.Provider, current.Name
		if err := requireSpace(ctx, tx, in.SpaceID); err != nil {
			return err
		}
		if err := integrationConflict(ctx, tx, in, in.ID); err != nil {
			return err
		}
		var args []any
		set := `is_default = ` + arg(&args, in.IsDefault) + `, space_id = ` + arg(&args, in.SpaceID) +
			`, description = ` + arg(&args, in.Description) + `, vcs_checks = ` + arg(&args, in.VCSChecks) +
			`, email = ` + arg(&args, in.Email) + `, username = ` + arg(&args, in.Username) +
			`, auth_method = ` + arg(&args, in.AuthMethod) + `, api_host = ` + arg(&args, in.APIHost) +
			`, user_facing_host = ` + arg(&args, in.UserFacingHost) + `, use_git_checkout = ` + arg(&args, in.UseGitCheckout) +
			`, updated_at = ` + arg(&args, formatTime(s.nowUTC()))
		// A nil sealed value leaves the column alone rather than writing back what was
		// read above: a rotate or credential change committed by a concurrent
		// transaction in between must not be undone (PostgreSQL runs this UPDATE
		// after that writer commits, on the row it left).
		if in.SealedCredential != nil {
			set += `, sealed_credential = ` + arg(&args, encodeSealed(in.SealedCredential))
		}
		if in.SealedWebhookSecret != nil {
			set += `, sealed_webhook_secret = ` + arg(&args, encodeSealed(in.SealedWebhookSecret))
		}
		_, err = tx.ExecContext(ctx, `UPDATE integrations SET `+set+` WHERE id = `+arg(&args, in.ID), args...)
		if err != nil {
			return s.constraintError(err,
				func() error { return errLostRace },
				func() error { return notFound("space", in.SpaceID) })
		}
		if err := integrationLabels.replace(ctx, tx, in.ID, in.Labels); err != nil {
			return err
		}
		out, _, err = getIntegration(ctx, tx, `id = $1`, in.ID)
		return err
	})
	if err != nil {
		return store.Integration{}, s.explainLostRace(ctx, err, in, in.ID)
	}
	return out, nil
}

func (s *Store) SetWebhookSecret(ctx context.Context, id string, sealed []byte) (store.Integration, error) {
	var out store.Integration
	err := s.inWriteTx(ctx, func(tx *sql.Tx) error {
		now := formatTime(s.nowUTC())
		res, err := tx.ExecContext(ctx, `UPDATE integrations SET previous_sealed_webhook_secret = sealed_webhook_secret,
			sealed_webhook_secret = $1, webhook_secret_rotated_at = $2, updated_at = $2 WHERE id = $3`,
			encodeSealed(sealed), now, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "integration", id); err != nil {
			return err
		}
		out, _, err = getIntegration(ctx, tx, `id = $1`, id)
		return err
	})
	if err != nil {
		return store.Integration{}, err
	}
	return out, nil
}

func (s *Store) DeleteIntegration(ctx context.Context, id string) error {
	return s.inWriteTx(ctx, func(tx *sql.Tx) error {
		in, ok, err := getIntegration(ctx, tx, `id = $1`, id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound("integration", id)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM integrations WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if err := mustAffect(res, "integration", id); err != nil {
			return err
		}
		return detachBindings(ctx, tx, in, formatTime(s.nowUTC()))
	})
}
