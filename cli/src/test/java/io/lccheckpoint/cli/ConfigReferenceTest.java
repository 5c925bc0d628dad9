package io.lccheckpoint.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.lccheckpoint.encoder.EncoderSettings;
import io.lccheckpoint.producer.ProducerSettings;
import io.lccheckpoint.restorer.RestorerSettings;
import io.lccheckpoint.schema.kafka.ConfigReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.Test;

/**
 * The README's configuration reference is the components' {@code ConfigDef}s rendered: a setting added, renamed or
 * re-documented in code without the README fails here. {@code mvn -pl cli test -Dtest=ConfigReferenceTest
 * -Dconfig.reference.write=true} rewrites the README's table from the code.
 */
class ConfigReferenceTest {
    static final String BEGIN = "<!-- config-reference:begin (generated from the ConfigDefs: see ConfigReferenceTest) -->\n";
    static final String END = "<!-- config-reference:end -->";

    @Test
    void theReadmesReferenceIsTheConfigDefsRendered() throws IOException {
        Map<String, ConfigDef> components = new LinkedHashMap<>();
        components.put("producer", ProducerSettings.configDef());
        components.put("encoder", EncoderSettings.configDef());
        components.put("restorer", RestorerSettings.configDef());
        String rendered = ConfigReference.markdown(components);

        Path readme = Path.of("..", "README.md");
        String text = Files.readString(readme, StandardCharsets.UTF_8);
        int begin = text.indexOf(BEGIN);
        int end = text.indexOf(END);
        assertThat(begin).as("the README marks its configuration reference with " + BEGIN.strip()).isNotNegative();
        assertThat(end).isGreaterThan(begin);
        if (Boolean.getBoolean("config.reference.write")) {
            Files.writeString(readme, text.substring(0, begin + BEGIN.length()) + rendered + text.substring(end), StandardCharsets.UTF_8);
            return;
        }
        assertThat(text.substring(begin + BEGIN.length(), end))
                .as("the README's configuration reference differs from the ConfigDefs: rerun this test with -Dconfig.reference.write=true")
                .isEqualTo(rendered);
        // every setting is there, shared ones once
        assertThat(rendered).contains("| `lcckpt.topic.prefix` | producer, encoder, restorer |", "| `lcckpt.codec.entropy` | producer, encoder |",
                "| `lcckpt.restore.threads` | restorer |", "| `lcckpt.job` | producer | string | (required) |");
    }
}
