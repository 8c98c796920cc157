package api

import (
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/auth"
	"github.com/orbit-iac/terraform-provider-orbit/internal/server/httpx"
)

// Short names for what the handlers use of httpx and auth on every other line.
type (
	apiError  = httpx.Error
	principal = auth.Principal
)

var (
	invalidArg    = httpx.InvalidArg
	errPermission = httpx.Permission
	errNotFound   = httpx.NotFound
	isNotFound    = httpx.IsNotFound
	errConflict   = httpx.Conflict
	writeJSON     = httpx.WriteJSON
	decodeBody    = httpx.DecodeBody
	roleRank      = auth.RoleRank
)

const (
	codeInternal = httpx.CodeInternal
	codeNotFound = httpx.CodeNotFound
)
