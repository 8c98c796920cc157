package rest

import (
	"errors"
	"fmt"
	"iter"
	"net/http"

	"github.com/orbit-iac/terraform-provider-orbit/internal/bitbucket"
)

// ClassifyCheckError maps the error of one call of a credential check to the result
// both products report. productName goes into messages ("Bitbucket Cloud"), what
// names what the call read, and denied maps a 401 or 403: what those mean, and the
// advice to give, differs between the products.
func ClassifyCheckError(productName, what string, err error, denied func(*bitbucket.APIError) bitbucket.CheckResult) bitbucket.CheckResult {
	var vErr *bitbucket.ValidationError
	if errors.As(err, &vErr) {
		return bitbucket.CheckResult{Reason: bitbucket.ReasonNotFound, Message: vErr.Error()}
	}
	var transportErr *TransportError
	if errors.As(err, &transportErr) {
		return bitbucket.CheckResult{Reason: bitbucket.ReasonUnreachable,
			Message: fmt.Sprintf("%s at %s could not be reached: %v", productName, transportErr.Host, transportErr.Err)}
	}
	apiErr, ok := bitbucket.AsAPIError(err)
	if !ok {
		return bitbucket.CheckResult{Reason: bitbucket.ReasonUnreachable, Message: productName + " could not be reached: " + err.Error()}
	}
	switch apiErr.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return denied(apiErr)
	case http.StatusNotFound:
		return bitbucket.CheckResult{Reason: bitbucket.ReasonNotFound,
			Message: what + " was not found, or the token cannot see it (404: " + apiErr.Message + ")"}
	default:
		return bitbucket.CheckResult{Reason: bitbucket.ReasonUnreachable,
			Message: fmt.Sprintf("%s answered %d while reading %s: %s", productName, apiErr.StatusCode, what, apiErr.Message)}
	}
}

// Collect drains a paged iterator into a slice, stopping at the first error.
func Collect[T any](items iter.Seq2[T, error]) ([]T, error) {
	var all []T
	for item, err := range items {
		if err != nil {
			return nil, err
		}
		all = append(all, item)
	}
	return all, nil
}
