package arm

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/keyhaven/keyhaven/storage"
)

var rgName = regexp.MustCompile(`^[-\w\._\(\)]{1,90}$`)

// Subscription returns the subscription's id as ARM answers (for checks); NotFound for an unknown one.
func (s *Service) checkSubscription(ctx context.Context, sub string) error {
	if _, err := s.store.Get(ctx, "subscription", strings.ToLower(sub)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return armErr(http.StatusNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", sub)
		}
		return err
	}
	return nil
}

// PutResourceGroup creates or updates a resource group.
func (s *Service) PutResourceGroup(ctx context.Context, p Principal, sub, rg string, body []byte) (Resource, bool, error) {
	if err := s.checkSubscription(ctx, sub); err != nil {
		return Resource{}, false, err
	}
	id := ID{Subscription: strings.ToLower(sub), ResourceGroup: rg}
	if err := s.authorize(ctx, p, "Microsoft.Resources/subscriptions/resourceGroups/write", id.Scope()); err != nil {
		return Resource{}, false, err
	}
	if !rgName.MatchString(rg) || strings.HasSuffix(rg, ".") {
		return Resource{}, false, badRequest("InvalidResourceGroup", "The provided resource group name '%s' has these invalid characters: '%s'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.", rg, rg)
	}
	var in struct {
		Location  string            `json:"location"`
		Tags      map[string]string `json:"tags"`
		ManagedBy string            `json:"managedBy"`
	}
	if err := decodeBody(body, &in); err != nil {
		return Resource{}, false, err
	}
	if in.Location == "" {
		return Resource{}, false, badRequest("LocationRequired", "The location property is required for this definition.")
	}
	var out Resource
	created := false
	err := s.store.InTx(ctx, func(tx storage.Tx) error {
		old, v, err := storage.GetJSON[Resource](ctx, tx, kindResource, id.Key())
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		out = Resource{ID: id.String(), Name: rg, Type: "Microsoft.Resources/resourceGroups", Location: normalizeLocation(in.Location),
			Tags: nonNilTags(in.Tags), ManagedBy: in.ManagedBy, Properties: map[string]any{"provisioningState": "Succeeded"}}
		if err == nil {
			// The name's case and location stay as first created; tags are replaced.
			out.ID, out.Name, out.Location = old.ID, old.Name, old.Location
			if normalizeLocation(in.Location) != old.Location {
				return badRequest("InvalidResourceGroupLocation", "Invalid resource group location '%s'. The Resource group already exists in location '%s'.", in.Location, old.Location)
			}
			return storage.PutJSON(ctx, tx, kindResource, id.Key(), v, out)
		}
		created = true
		return storage.CreateJSON(ctx, tx, kindResource, id.Key(), out)
	})
	return out, created, err
}

// GetResourceGroup reads a resource group.
func (s *Service) GetResourceGroup(ctx context.Context, p Principal, sub, rg string) (Resource, error) {
	id := ID{Subscription: strings.ToLower(sub), ResourceGroup: rg}
	if err := s.authorize(ctx, p, "Microsoft.Resources/subscriptions/resourceGroups/read", id.Scope()); err != nil {
		return Resource{}, err
	}
	r, _, err := s.getResource(ctx, s.store, id)
	return r, err
}

// ListResourceGroups lists the subscription's resource groups the caller may read.
func (s *Service) ListResourceGroups(ctx context.Context, p Principal, sub string) ([]Resource, error) {
	if err := s.checkSubscription(ctx, sub); err != nil {
		return nil, err
	}
	all, err := s.listUnder(ctx, "/subscriptions/"+sub+"/resourcegroups/", "Microsoft.Resources/resourceGroups")
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, r := range all {
		if ok, err := s.Allowed(ctx, p, "Microsoft.Resources/subscriptions/resourceGroups/read", strings.ToLower(r.ID), false); err != nil {
			return nil, err
		} else if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// DeleteResourceGroup deletes a resource group and everything in it, with each resource's own deletion rules
// (a site's system identity leaves the directory, a vault is soft-deleted).
func (s *Service) DeleteResourceGroup(ctx context.Context, p Principal, sub, rg string) error {
	defer s.invalidate()
	id := ID{Subscription: strings.ToLower(sub), ResourceGroup: rg}
	if err := s.authorize(ctx, p, "Microsoft.Resources/subscriptions/resourceGroups/delete", id.Scope()); err != nil {
		return err
	}
	if _, _, err := s.getResource(ctx, s.store, id); err != nil {
		return err
	}
	inside, err := s.listUnder(ctx, id.Key()+"/providers/", "")
	if err != nil {
		return err
	}
	// Sites first, so their identities are released before the identities themselves go.
	for _, pass := range []func(Resource) bool{
		func(r Resource) bool { return strings.EqualFold(r.Type, "Microsoft.Web/sites") },
		func(r Resource) bool { return !strings.EqualFold(r.Type, "Microsoft.Web/sites") },
	} {
		for _, r := range inside {
			if !pass(r) {
				continue
			}
			rid, err := ParseID(r.ID)
			if err != nil {
				return err
			}
			if err := s.deleteResource(ctx, rid); err != nil && !isNotFound(err) {
				return err
			}
		}
	}
	return s.store.Delete(ctx, kindResource, id.Key(), 0)
}

func isNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.HTTPStatus == http.StatusNotFound || errors.Is(err, storage.ErrNotFound)
}

// normalizeLocation turns "West US" into "westus", as ARM stores locations.
func normalizeLocation(l string) string { return strings.ToLower(strings.ReplaceAll(l, " ", "")) }
