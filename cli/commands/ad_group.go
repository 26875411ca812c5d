package commands

import (
	"fmt"
	"net/url"

	"github.com/keyhaven/keyhaven/cli"
	"github.com/keyhaven/keyhaven/client"
)

// resolveGroup finds a group by object id or display name, as az's --group does.
func resolveGroup(ctx *cli.Context, s *client.Session, group string) (string, error) {
	if isGUID(group) {
		return group, nil
	}
	groups, err := graphList(ctx, s, filterPath("/groups", "displayName eq "+odataQuote(group)))
	if err != nil {
		return "", err
	}
	switch len(groups) {
	case 0:
		return "", fmt.Errorf("No group matches the name of '%s'", group)
	case 1:
		return groups[0]["id"].(string), nil
	}
	return "", fmt.Errorf("More than one group match the name of '%s'. Please use the object id.", group)
}

func groupParam() cli.Param {
	return cli.Param{Name: "group", Short: "g", Required: true, Help: "Group's object id or display name(prefix also works if there is a unique match)."}
}

func memberIDParam() cli.Param {
	return cli.Param{Name: "member-id", Required: true, Help: "The object ID of the contact, group, user, or service principal."}
}

// withGroup opens the session and resolves --group before running a group command.
func withGroup(run func(ctx *cli.Context, s *client.Session, id string) (any, error)) func(*cli.Context) (any, error) {
	return func(ctx *cli.Context) (any, error) {
		s, err := session(ctx)
		if err != nil {
			return nil, err
		}
		id, err := resolveGroup(ctx, s, ctx.String("group"))
		if err != nil {
			return nil, err
		}
		return run(ctx, s, id)
	}
}

func registerADGroup(app *cli.App) {
	app.Register(
		cli.Command{
			Name: "ad group create", Short: "Create a group.",
			Params: []cli.Param{
				{Name: "display-name", Required: true, Help: "Object's display name or its prefix."},
				{Name: "mail-nickname", Required: true, Help: "Mail nickname."},
				{Name: "description", Help: "Group description."},
				{Name: "force", Bool: true, Help: "Always create a new group instead of updating the one with same display and mail nickname."},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				if !ctx.Bool("force") {
					// az returns the existing group with the same display name and mail nickname.
					found, err := graphList(ctx, s, filterPath("/groups", "displayName eq "+odataQuote(ctx.String("display-name")), "mailNickname eq "+odataQuote(ctx.String("mail-nickname"))))
					if err != nil {
						return nil, err
					}
					if len(found) == 1 {
						return found[0], nil
					}
				}
				body := map[string]any{"displayName": ctx.String("display-name"), "mailNickname": ctx.String("mail-nickname"), "mailEnabled": false, "securityEnabled": true}
				if d := ctx.String("description"); d != "" {
					body["description"] = d
				}
				var out map[string]any
				if err := s.Graph(ctx, "POST", "/groups", body, &out); err != nil {
					return nil, graphErr(err)
				}
				return graphObject(out), nil
			},
		},
		cli.Command{
			Name: "ad group list", Short: "List groups in the directory.",
			Params: []cli.Param{
				{Name: "display-name", Help: "Object's display name or its prefix."},
				{Name: "filter", Help: "OData filter."},
			},
			Run: func(ctx *cli.Context) (any, error) {
				s, err := session(ctx)
				if err != nil {
					return nil, err
				}
				var dn string
				if v := ctx.String("display-name"); v != "" {
					dn = "startswith(displayName," + odataQuote(v) + ")"
				}
				return graphList(ctx, s, filterPath("/groups", ctx.String("filter"), dn))
			},
		},
		cli.Command{
			Name: "ad group show", Short: "Get the details of a group.", Params: []cli.Param{groupParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				var out map[string]any
				if err := s.Graph(ctx, "GET", "/groups/"+url.PathEscape(id), nil, &out); err != nil {
					return nil, graphErr(err)
				}
				return graphObject(out), nil
			}),
		},
		cli.Command{
			Name: "ad group delete", Short: "Delete a group.", Params: []cli.Param{groupParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				return nil, graphErr(s.Graph(ctx, "DELETE", "/groups/"+url.PathEscape(id), nil, nil))
			}),
		},
		cli.Command{
			Name: "ad group member add", Short: "Add a member to a group.",
			Params: []cli.Param{groupParam(), memberIDParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				ref := map[string]any{"@odata.id": "https://" + client.GraphHost + "/v1.0/directoryObjects/" + ctx.String("member-id")}
				return nil, graphErr(s.Graph(ctx, "POST", "/groups/"+url.PathEscape(id)+"/members/$ref", ref, nil))
			}),
		},
		cli.Command{
			Name: "ad group member remove", Short: "Remove a member from a group.",
			Params: []cli.Param{groupParam(), memberIDParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				return nil, graphErr(s.Graph(ctx, "DELETE", "/groups/"+url.PathEscape(id)+"/members/"+url.PathEscape(ctx.String("member-id"))+"/$ref", nil, nil))
			}),
		},
		cli.Command{
			Name: "ad group member list", Short: "Get the members of a group.", Params: []cli.Param{groupParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				return graphList(ctx, s, "/groups/"+url.PathEscape(id)+"/members")
			}),
		},
		cli.Command{
			Name: "ad group member check", Short: "Check if a member is in a group.",
			Params: []cli.Param{groupParam(), memberIDParam()},
			Run: withGroup(func(ctx *cli.Context, s *client.Session, id string) (any, error) {
				var out struct {
					Value []string `json:"value"`
				}
				err := s.Graph(ctx, "POST", "/directoryObjects/"+url.PathEscape(ctx.String("member-id"))+"/checkMemberGroups", map[string]any{"groupIds": []string{id}}, &out)
				if err != nil {
					return nil, graphErr(err)
				}
				return map[string]any{"value": len(out.Value) > 0}, nil
			}),
		},
	)
}
