-- Up Migration
-- Variants (issue 16): a config declares named values, serves `on_variant` when on and `off_variant`
-- when off, and may split its traffic across them by weight. Every existing config becomes two
-- variants, `on` (its value) and `off` (its off_value): the names evaluations have always reported,
-- so every user keeps getting the same value and variant. `value` and `off_value` stay, written from
-- the on and off variants, for readers of the shape before variants.
ALTER TABLE flag_configs
  ADD COLUMN variants jsonb,
  ADD COLUMN on_variant text,
  ADD COLUMN off_variant text,
  ADD COLUMN split jsonb;

UPDATE flag_configs
   SET variants = jsonb_build_array(jsonb_build_object('name', 'on', 'value', value), jsonb_build_object('name', 'off', 'value', off_value)),
       on_variant = 'on',
       off_variant = 'off';

ALTER TABLE flag_configs
  ALTER COLUMN variants SET NOT NULL,
  ALTER COLUMN on_variant SET NOT NULL,
  ALTER COLUMN off_variant SET NOT NULL,
  ADD CONSTRAINT flag_configs_variants_is_array CHECK (jsonb_typeof(variants) = 'array'),
  ADD CONSTRAINT flag_configs_split_is_array CHECK (split IS NULL OR jsonb_typeof(split) = 'array');

-- Down Migration
ALTER TABLE flag_configs
  DROP COLUMN split,
  DROP COLUMN off_variant,
  DROP COLUMN on_variant,
  DROP COLUMN variants;
