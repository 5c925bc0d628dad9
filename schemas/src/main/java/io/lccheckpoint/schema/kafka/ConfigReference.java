package io.lccheckpoint.schema.kafka;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;

/**
 * The README's configuration reference, rendered from the components' {@link ConfigDef}s so that the two cannot drift
 * (a test compares them): one Markdown row per setting, a setting several components define (the {@link SharedSettings})
 * listed once with all of them.
 */
public final class ConfigReference {
    private ConfigReference() {
    }

    /** The table for the components in order (name → definition); settings in each definition's order. */
    public static String markdown(Map<String, ConfigDef> components) {
        Map<String, ConfigDef.ConfigKey> keys = new LinkedHashMap<>();
        Map<String, List<String>> owners = new LinkedHashMap<>();
        components.forEach((component, definition) -> definition.configKeys().forEach((name, key) -> {
            keys.putIfAbsent(name, key);
            owners.computeIfAbsent(name, n -> new ArrayList<>()).add(component);
        }));
        StringBuilder table = new StringBuilder("| setting | used by | type | default | valid values | meaning |\n|---|---|---|---|---|---|\n");
        keys.forEach((name, key) -> table.append("| `").append(name).append("` | ").append(String.join(", ", owners.get(name)))
                .append(" | ").append(key.type.name().toLowerCase(Locale.ROOT))
                .append(" | ").append(defaultOf(key))
                .append(" | ").append(key.validator == null ? "" : cell(key.validator.toString()))
                .append(" | ").append(cell(key.documentation)).append(" |\n"));
        return table.toString();
    }

    private static String defaultOf(ConfigDef.ConfigKey key) {
        if (!key.hasDefault()) {
            return "(required)";
        }
        return key.defaultValue == null ? "null" : "`" + ConfigDef.convertToString(key.defaultValue, key.type) + "`";
    }

    private static String cell(String text) {
        return text.replace("|", "\\|").replace("\n", " ");
    }
}
