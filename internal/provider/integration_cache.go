package provider

import (
	"context"
	"sync"

	"github.com/orbit-iac/terraform-provider-orbit/internal/orbitapi"
)

// integrationCache shares integration reads among the resources of one provider
// process. Terraform starts the provider (and calls Configure) once per command, and
// reads resources in parallel; every webhook of an integration needs that integration,
// so without sharing a refresh of N hooks would read it N times. A read in flight is
// joined, not repeated; a failed read is not kept, so the next caller tries again.
// The integration resources put what they write, so a rotation in an apply is seen by
// the webhooks planned after it.
type integrationCache struct {
	client *orbitapi.Client

	mu      sync.Mutex
	entries map[string]*integrationRead
}

type integrationRead struct {
	done        chan struct{}
	integration *orbitapi.Integration
	err         error
}

func newIntegrationCache(client *orbitapi.Client) *integrationCache {
	return &integrationCache{client: client, entries: map[string]*integrationRead{}}
}

// get returns the integration, reading it from orbit-server at most once per process
// unless a read failed or a write replaced it.
func (c *integrationCache) get(ctx context.Context, id string) (*orbitapi.Integration, error) {
	c.mu.Lock()
	read, ok := c.entries[id]
	if !ok {
		read = &integrationRead{done: make(chan struct{})}
		c.entries[id] = read
		c.mu.Unlock()
		// The read runs on its own context: a caller that gives up must not fail the
		// others waiting for the same answer.
		read.integration, read.err = c.client.Integrations.Get(context.WithoutCancel(ctx), id)
		if read.err != nil {
			c.mu.Lock()
			if c.entries[id] == read {
				delete(c.entries, id)
			}
			c.mu.Unlock()
		}
		close(read.done)
		return read.integration, read.err
	}
	c.mu.Unlock()
	select {
	case <-read.done:
		return read.integration, read.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put records an integration the provider just wrote.
func (c *integrationCache) put(in *orbitapi.Integration) {
	if c == nil || in == nil {
		return
	}
	read := &integrationRead{done: make(chan struct{}), integration: in}
	close(read.done)
	c.mu.Lock()
	c.entries[in.ID] = read
	c.mu.Unlock()
}

// forget drops an integration the provider deleted.
func (c *integrationCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.entries, id)
	c.mu.Unlock()
}
