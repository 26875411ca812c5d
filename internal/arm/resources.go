package arm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/keyhaven/keyhaven/storage"
)

// resourceBody is the common shape of a PUT or PATCH body.
type resourceBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Kind       string            `json:"kind"`
	SKU        map[string]any    `json:"sku"`
	Identity   json.RawMessage   `json:"identity"`
	Properties json.RawMessage   `json:"properties"`
	// hasTags distinguishes an absent tags property (PATCH keeps them) from an empty one.
	hasTags bool
}

// change is a resource write worked out by its type: the resource to store, and what to do once the write has
// succeeded or failed.
type change struct {
	res    Resource
	commit func()
	abort  func()
	// extra writes that must happen in the same transaction.
	tx func(ctx context.Context, tx storage.Tx) error
}

// resourceType is what a resource type knows: how to build a resource from a request, and how to delete one.
type resourceType struct {
	put    func(s *Service, ctx context.Context, p Principal, id ID, old *Resource, in resourceBody, patch bool) (change, error)
	delete func(s *Service, ctx context.Context, res Resource) error
}

var resourceTypes = map[string]resourceType{
	"microsoft.web/serverfarms":                        {put: putPlan},
	"microsoft.web/sites":                              {put: putSite, delete: deleteSite},
	"microsoft.managedidentity/userassignedidentities": {put: putUAMI, delete: deleteUAMI},
	"microsoft.keyvault/vaults":                        {put: putVault, delete: deleteVault},
	"microsoft.compute/virtualmachines":                {put: putVM, delete: deleteSite},
}

var nameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// typeOf finds the handler of a top-level resource id.
func typeOf(id ID) (resourceType, error) {
	if id.ResourceGroup == "" || id.Provider == "" || len(id.Names) != 1 || len(id.Types) != 1 {
		return resourceType{}, badRequest("InvalidResourceId", "The resource id '%s' does not name a resource in a resource group.", id.String())
	}
	rt, ok := resourceTypes[strings.ToLower(id.Provider+"/"+id.Types[0])]
	if !ok {
		return resourceType{}, badRequest("NoRegisteredProviderFound", "No registered resource provider found for location and API version for type '%s'.", id.Canonical().FullType())
	}
	return rt, nil
}

// PutResource creates or replaces (patch=false) or updates (patch=true) a resource. It returns the resource and
// whether it was created.
func (s *Service) PutResource(ctx context.Context, p Principal, rawID string, body []byte, patch bool) (Resource, bool, error) {
	defer s.invalidate()
	id, err := ParseID(rawID)
	if err != nil {
		return Resource{}, false, badRequest("InvalidResourceId", "%s", err.Error())
	}
	id = id.Canonical()
	rt, err := typeOf(id)
	if err != nil {
		return Resource{}, false, err
	}
	if !nameRule.MatchString(id.Name()) {
		return Resource{}, false, badRequest("InvalidResourceName", "The resource name '%s' is invalid.", id.Name())
	}
	if err := s.checkSubscription(ctx, id.Subscription); err != nil {
		return Resource{}, false, err
	}
	if _, _, err := s.getResource(ctx, s.store, id.RGID()); err != nil {
		return Resource{}, false, err
	}
	if err := s.authorize(ctx, p, action(id, "write"), id.Scope()); err != nil {
		return Resource{}, false, err
	}
	var in resourceBody
	if err := decodeBody(body, &in); err != nil {
		return Resource{}, false, err
	}
	var probe map[string]json.RawMessage
	json.Unmarshal(body, &probe)
	_, in.hasTags = probe["tags"]

	old, version, err := storage.GetJSON[Resource](ctx, s.store, kindResource, id.Key())
	var oldp *Resource
	switch {
	case err == nil:
		oldp = &old
	case errors.Is(err, storage.ErrNotFound):
		if patch {
			return Resource{}, false, s.notFound(ctx, id)
		}
	default:
		return Resource{}, false, err
	}
	if !patch && in.Location == "" && rt.put != nil {
		return Resource{}, false, badRequest("LocationRequired", "The location property is required for this definition.")
	}
	ch, err := rt.put(s, ctx, p, id, oldp, in, patch)
	if err != nil {
		return Resource{}, false, err
	}
	res := ch.res
	res.ID, res.Name, res.Type = id.String(), id.Name(), id.Canonical().FullType()
	if oldp != nil {
		res.ID, res.Name = old.ID, old.Name // the first spelling stays
		res.SystemData = s.systemData(p, old.SystemData)
	} else {
		res.SystemData = s.systemData(p, nil)
	}
	if res.Tags == nil {
		res.Tags = map[string]string{}
	}
	err = s.store.InTx(ctx, func(tx storage.Tx) error {
		if ch.tx != nil {
			if err := ch.tx(ctx, tx); err != nil {
				return err
			}
		}
		if oldp == nil {
			return storage.CreateJSON(ctx, tx, kindResource, id.Key(), res)
		}
		return storage.PutJSON(ctx, tx, kindResource, id.Key(), version, res)
	})
	if err != nil {
		if ch.abort != nil {
			ch.abort()
		}
		if errors.Is(err, storage.ErrConflict) {
			var ae *Error
			if errors.As(err, &ae) {
				return Resource{}, false, ae
			}
			return Resource{}, false, armErr(http.StatusConflict, "Conflict", "The resource was changed by another request; retry.")
		}
		return Resource{}, false, err
	}
	if ch.commit != nil {
		ch.commit()
	}
	return res, oldp == nil, nil
}

// GetResource reads a resource.
func (s *Service) GetResource(ctx context.Context, p Principal, rawID string) (Resource, error) {
	id, err := ParseID(rawID)
	if err != nil {
		return Resource{}, badRequest("InvalidResourceId", "%s", err.Error())
	}
	id = id.Canonical()
	if _, err := typeOf(id); err != nil {
		return Resource{}, err
	}
	if err := s.authorize(ctx, p, action(id, "read"), id.Scope()); err != nil {
		return Resource{}, err
	}
	r, _, err := s.getResource(ctx, s.store, id)
	return r, err
}

// DeleteResource deletes a resource with its type's rules. Deleting what does not exist is not an error (ARM
// answers 204), but a missing resource group is.
func (s *Service) DeleteResource(ctx context.Context, p Principal, rawID string) (bool, error) {
	defer s.invalidate()
	id, err := ParseID(rawID)
	if err != nil {
		return false, badRequest("InvalidResourceId", "%s", err.Error())
	}
	id = id.Canonical()
	if _, err := typeOf(id); err != nil {
		return false, err
	}
	if err := s.authorize(ctx, p, action(id, "delete"), id.Scope()); err != nil {
		return false, err
	}
	if _, _, err := s.getResource(ctx, s.store, id.RGID()); err != nil {
		return false, err
	}
	err = s.deleteResource(ctx, id)
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

func (s *Service) deleteResource(ctx context.Context, id ID) error {
	res, version, err := s.getResource(ctx, s.store, id)
	if err != nil {
		return err
	}
	rt, err := typeOf(id)
	if err != nil {
		return err
	}
	if rt.delete != nil {
		if err := rt.delete(s, ctx, res); err != nil {
			return err
		}
	}
	err = s.store.Delete(ctx, kindResource, id.Key(), version)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// ListResources lists resources of a type under a subscription or resource group, the ones the caller may read.
func (s *Service) ListResources(ctx context.Context, p Principal, sub, rg, typ string) ([]Resource, error) {
	if err := s.checkSubscription(ctx, sub); err != nil {
		return nil, err
	}
	prefix := "/subscriptions/" + sub + "/resourcegroups/"
	if rg != "" {
		if _, _, err := s.getResource(ctx, s.store, ID{Subscription: sub, ResourceGroup: rg}); err != nil {
			return nil, err
		}
		prefix += rg + "/providers/"
	}
	all, err := s.listUnder(ctx, prefix, typ)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, r := range all {
		if strings.EqualFold(r.Type, "Microsoft.Resources/resourceGroups") {
			continue
		}
		id, err := ParseID(r.ID)
		if err != nil {
			continue
		}
		if ok, err := s.Allowed(ctx, p, action(id, "read"), id.Scope(), false); err != nil {
			return nil, err
		} else if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// mergeProperties overlays a PATCH's properties on the old ones.
func mergeProperties(old map[string]any, patch json.RawMessage) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range old {
		out[k] = v
	}
	if len(patch) == 0 || string(patch) == "null" {
		return out, nil
	}
	var in map[string]any
	if err := json.Unmarshal(patch, &in); err != nil {
		return nil, badRequest("InvalidRequestContent", "The properties are not a JSON object.")
	}
	for k, v := range in {
		out[k] = v
	}
	return out, nil
}
