package orbitapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orbit-iac/terraform-provider-orbit/internal/apiwire"
)

type (
	// Whoami is GET /api/v1/whoami: the calling key and its effective role on every
	// space it can read.
	Whoami = apiwire.Whoami
	// SpaceAccess is the key's effective role (read, write or admin) on one space.
	SpaceAccess = apiwire.SpaceAccess
)

// Roles, weakest first.
const (
	RoleRead  = apiwire.RoleRead
	RoleWrite = apiwire.RoleWrite
	RoleAdmin = apiwire.RoleAdmin
)

// ErrNotOrbitServer is wrapped by Whoami's error when the endpoint answered, but not
// as orbit-server does.
var ErrNotOrbitServer = errors.New("this endpoint is not orbit-server")

// Whoami identifies the key and checks that the endpoint is orbit-server. An answer
// that is not orbit's (a 2xx without a key id, any error without orbit's error body)
// gives an error wrapping ErrNotOrbitServer; a 401 from orbit-server stays an
// *APIError (IsUnauthenticated).
func (c *Client) Whoami(ctx context.Context) (*Whoami, error) {
	var out Whoami
	err := c.do(ctx, request{method: "GET", path: "/whoami"}, &out)
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code == "":
		return nil, fmt.Errorf("%w: GET %s%s/whoami answered %d without orbit's error body", ErrNotOrbitServer, c.Endpoint(), apiPrefix, apiErr.StatusCode)
	case errors.As(err, &apiErr) && apiErr.StatusCode == 404:
		return nil, fmt.Errorf("%w (or one older than the whoami route): GET %s%s/whoami: %s", ErrNotOrbitServer, c.Endpoint(), apiPrefix, apiErr.Message)
	case errors.Is(err, errUndecodable):
		return nil, fmt.Errorf("%w: GET %s%s/whoami did not answer JSON of orbit's shape", ErrNotOrbitServer, c.Endpoint(), apiPrefix)
	case err != nil:
		return nil, err
	case !strings.HasPrefix(out.ID, "k_") || out.Spaces == nil:
		return nil, fmt.Errorf("%w: GET %s%s/whoami answered without a key id and spaces", ErrNotOrbitServer, c.Endpoint(), apiPrefix)
	}
	return &out, nil
}
