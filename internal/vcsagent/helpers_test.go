package vcsagent_test

import "github.com/orbit-iac/terraform-provider-orbit/internal/server/store"

func storeIntegration() store.Integration { return store.Integration{SpaceID: "root"} }
