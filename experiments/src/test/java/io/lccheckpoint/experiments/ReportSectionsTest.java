package io.lccheckpoint.experiments;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReportSectionsTest {

    @Test
    void aSectionIsAppendedThenReplacedAndTheRestIsKept() {
        String document = "# Report\n\nbody\n";
        String once = ReportSections.replace(document, "hapi", "first");
        assertThat(once).startsWith("# Report\n\nbody\n\n<!-- hapi:start -->\nfirst\n<!-- hapi:end -->\n");
        String twice = ReportSections.replace(once + "tail\n", "hapi", "second\n");
        assertThat(twice).isEqualTo("# Report\n\nbody\n\n<!-- hapi:start -->\nsecond\n<!-- hapi:end -->\ntail\n");
        assertThat(ReportSections.section(twice, "hapi")).isEqualTo("<!-- hapi:start -->\nsecond\n<!-- hapi:end -->\n");
        assertThat(ReportSections.section(document, "hapi")).isEmpty();
    }
}
