package io.lccheckpoint.registry;

import io.apicurio.common.apps.config.DynamicConfigPropertyList;
import java.util.Collections;
import javax.enterprise.context.ApplicationScoped;
import javax.enterprise.inject.Produces;

/**
 * Stands in for the build-time index of apicurio-common-app-components-config-index (excluded in pom.xml): no
 * properties are changeable at run time. The registry's ccompat API, storage and compatibility rules do not use it.
 */
@ApplicationScoped
public class EmptyDynamicConfigPropertyListProducer {

    @Produces
    @ApplicationScoped
    public DynamicConfigPropertyList dynamicConfigPropertyList() {
        return new DynamicConfigPropertyList(Collections.emptyList());
    }
}
