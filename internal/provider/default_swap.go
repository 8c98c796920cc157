package provider

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// Moving the default integration from one resource to another in one apply.

// defaultSwapWait bounds how long a write that makes an integration the default waits
// for the current default to be released.
const defaultSwapWait = time.Minute

// whileDefaultIsTaken runs call and, when it makes an integration the default and
// orbit-server answers 409 on is_default, tries again until defaultSwapWait has
// passed. Moving the default from A to B in one apply updates A and B in parallel, so
// B may ask before A has released the default; A's update needs no retry.
func whileDefaultIsTaken[T any](ctx context.Context, makesDefault bool, call func() (T, error)) (T, error) {
	deadline := time.Now().Add(defaultSwapWait)
	wait := 100 * time.Millisecond
	for {
		out, err := call()
		var apiErr *orbitapi.APIError
		if !makesDefault || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || apiErr.Field != "is_default" || time.Now().After(deadline) {
			return out, err
		}
		tflog.Debug(ctx, "the default integration is still taken; waiting for it to be released", map[string]any{"current_default": apiErr.ExistingID})
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}
