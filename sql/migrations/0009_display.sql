-- 0009_display.sql: the public wall (issue 9 item 11). A `display` account is read-only and
-- sees one department's board, masked by the services to initials; the department decides
-- whether isolation, allergy and ESI marks appear on its wall.

-- A display account belongs to no staff member: it names its department itself.
ALTER TABLE account ADD COLUMN display_department_id bigint REFERENCES department(id);
ALTER TABLE account DROP CONSTRAINT account_roles_check;
ALTER TABLE account ADD CONSTRAINT account_roles_check
    CHECK (roles <@ ARRAY['physician', 'nurse', 'charge_nurse', 'registration', 'admin',
                          'service', 'display']::text[] AND cardinality(roles) >= 1);
-- display is a role of its own (never combined with a clinical one) and has a department.
ALTER TABLE account ADD CONSTRAINT account_display_alone
    CHECK (NOT ('display' = ANY(roles)) OR (roles = ARRAY['display'] AND staff_id IS NULL
                                            AND display_department_id IS NOT NULL));

-- false (default): the wall shows no isolation, allergy or ESI marks.
ALTER TABLE department ADD COLUMN wall_shows_flags boolean NOT NULL DEFAULT false;
