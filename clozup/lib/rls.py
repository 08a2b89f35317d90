"""Migration operations for organization tables.

`EnableOrganizationRLS` turns on forced row-level security with the tenant
policy; `SameOrganizationForeignKey` makes the database refuse a row that
points at another organization's row (foreign key checks skip RLS, so a plain
foreign key would accept it). Migrations import these by name: their SQL is
part of the schema's contract and changes only through a new operation.
"""

from django.db import migrations

CURRENT_ORG = "NULLIF(current_setting('app.current_org_id', true), '')::bigint"
CURRENT_USER = "NULLIF(current_setting('app.current_user_id', true), '')::bigint"
CURRENT_SSO_DOMAIN = "NULLIF(current_setting('app.sso_domain', true), '')"


def tenant_policy_sql(table: str, *, also_visible_when: str = "") -> str:
    # current_setting(..., true) is NULL before first use and '' after a
    # transaction that set it ended: NULLIF turns both into NULL, which
    # matches no row, so an unset context reads nothing and writes nothing.
    using = f"organization_id = {CURRENT_ORG}"
    if also_visible_when:
        using = f"({using}) OR ({also_visible_when})"
    return f"""
        ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
        ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON {table}
            USING ({using})
            WITH CHECK (organization_id = {CURRENT_ORG});
    """


class EnableOrganizationRLS(migrations.RunSQL):
    def __init__(self, table: str, *, also_visible_when: str = ""):
        self.table = table
        self.also_visible_when = also_visible_when
        super().__init__(
            sql=tenant_policy_sql(table, also_visible_when=also_visible_when),
            reverse_sql=f"""
                DROP POLICY IF EXISTS tenant_isolation ON {table};
                ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;
                ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
            """,
        )

    def deconstruct(self):
        kwargs = {"also_visible_when": self.also_visible_when}
        if not self.also_visible_when:
            kwargs = {}
        return (self.__class__.__qualname__, [self.table], kwargs)

    def describe(self):
        return f"Enable forced row-level security on {self.table}"


class SameOrganizationForeignKey(migrations.RunSQL):
    """A composite foreign key (organization_id, column) -> (organization_id, key).

    `on_delete` is SQL: "NO ACTION" (the ORM cascades first), "CASCADE", or
    "SET NULL (column)" to clear only the pointer, never the organization.
    """

    def __init__(
        self,
        table: str,
        column: str,
        references: str,
        key: str = "id",
        on_delete: str = "NO ACTION",
    ):
        self.table = table
        self.column = column
        self.references = references
        self.key = key
        self.on_delete = on_delete
        name = f"{table}_{column}_same_org"
        super().__init__(
            sql=f"""
                ALTER TABLE {table} ADD CONSTRAINT {name}
                FOREIGN KEY (organization_id, {column})
                REFERENCES {references} (organization_id, {key})
                ON DELETE {on_delete}
                DEFERRABLE INITIALLY DEFERRED;
            """,
            reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name};",
        )

    def deconstruct(self):
        kwargs = {"key": self.key, "on_delete": self.on_delete}
        args = [self.table, self.column, self.references]
        return (self.__class__.__qualname__, args, kwargs)

    def describe(self):
        return f"Tie {self.table}.{self.column} to a row of the same organization"
