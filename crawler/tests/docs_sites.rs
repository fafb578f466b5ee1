//! Pages built the way the common documentation generators build them (their markup, their
//! navigation, sidebars, tables of contents, breadcrumbs, "edit this page", previous/next links,
//! version pickers and footers) extract to exactly their body: code without line numbers or copy
//! buttons and with its language, admonitions with their title, every tab under its label. The
//! page's metadata comes with it.

use crawler::extract;
use url::Url;

fn md(html: &str, url: &str) -> crawler::Extracted {
    extract(html, Some(&Url::parse(url).unwrap()))
}

#[test]
fn docusaurus() {
    let html = r##"<!doctype html><html lang="en" dir="ltr"><head>
<title>Installation | Widget Docs</title>
<meta name="description" content="How to install the widget.">
<link rel="canonical" href="https://widget.dev/docs/installation">
<meta property="article:modified_time" content="2026-10-01T12:00:00Z">
</head><body>
<nav aria-label="Main" class="navbar navbar--fixed-top"><a class="navbar__brand" href="/">Widget</a>
<div class="navbar__items"><a class="navbar__item" href="/docs/">Docs</a>
<div class="dropdown dropdown--hoverable"><a class="navbar__link" href="#">v2.1</a></div></div></nav>
<div class="main-wrapper docsWrapper_hBAB"><div class="docRoot_UBD9">
<aside class="theme-doc-sidebar-container docSidebarContainer_YfHR"><nav class="menu thin-scrollbar">
<ul class="theme-doc-sidebar-menu menu__list"><li class="menu__list-item"><a class="menu__link" href="/docs/intro">Introduction</a></li>
<li class="menu__list-item"><a class="menu__link menu__link--active" href="/docs/installation">Installation</a></li></ul></nav></aside>
<main class="docMainContainer_TBSr"><div class="container padding-top--md padding-bottom--lg"><div class="row"><div class="col docItemCol_VOVn">
<div class="docItemContainer_Djhp"><article>
<nav class="theme-doc-breadcrumbs breadcrumbsContainer_Z_bl" aria-label="Breadcrumbs"><ul class="breadcrumbs"><li class="breadcrumbs__item"><a class="breadcrumbs__link" href="/docs/">Docs</a></li><li class="breadcrumbs__item breadcrumbs__item--active"><span class="breadcrumbs__link">Installation</span></li></ul></nav>
<div class="tocCollapsible_ETCw theme-doc-toc-mobile"><button type="button" class="tocCollapsibleButton_TO0P">On this page</button></div>
<div class="theme-doc-markdown markdown"><header><h1>Installation</h1></header>
<p>The widget runs on any machine with a recent runtime, and installs in one step.</p>
<div class="tabs-container tabList__CuJ"><ul role="tablist" aria-orientation="horizontal" class="tabs">
<li role="tab" tabindex="0" aria-selected="true" class="tabs__item tabs__item--active">npm</li>
<li role="tab" tabindex="-1" aria-selected="false" class="tabs__item">Yarn</li></ul>
<div class="margin-top--md"><div role="tabpanel" class="tabItem_Ymn6">
<div class="language-bash codeBlockContainer_Ckt0 theme-code-block"><div class="codeBlockContent_biex"><pre tabindex="0" class="prism-code language-bash codeBlock_bY9V thin-scrollbar"><code class="codeBlockLines_e6Vv"><span class="token-line"><span class="codeLineNumber_Tfdd">1</span><span class="codeLineContent_feaV"><span class="token plain">npm install widget</span></span></span></code></pre><div class="buttonGroup__atx"><button type="button" aria-label="Copy code to clipboard" title="Copy" class="clean-btn">Copy</button></div></div></div>
</div><div role="tabpanel" class="tabItem_Ymn6" hidden="">
<div class="language-bash codeBlockContainer_Ckt0 theme-code-block"><div class="codeBlockContent_biex"><pre tabindex="0" class="prism-code language-bash codeBlock_bY9V thin-scrollbar"><code class="codeBlockLines_e6Vv"><span class="token-line"><span class="codeLineNumber_Tfdd">1</span><span class="codeLineContent_feaV"><span class="token plain">yarn add widget</span></span></span></code></pre><div class="buttonGroup__atx"><button type="button" class="clean-btn">Copy</button></div></div></div>
</div></div></div>
<div class="theme-admonition theme-admonition-tip admonition_xJq3 alert alert--success"><div class="admonitionHeading_Gvgb"><span class="admonitionIcon_Rf37"><svg viewBox="0 0 12 16"><path d="M6.5 0"></path></svg></span>tip</div><div class="admonitionContent_BuS1"><p>Pin the version in production.</p></div></div>
</div>
<footer class="theme-doc-footer docusaurus-mt-lg"><div class="row margin-top--sm theme-doc-footer-edit-meta-row"><div class="col"><a href="https://github.com/widget/docs/edit/main/docs/installation.md" class="theme-edit-this-page">Edit this page</a></div>
<div class="col lastUpdated_JAkA"><span class="theme-last-updated">Last updated on <b><time datetime="2026-10-01T12:00:00.000Z">Oct 1, 2026</time></b></span></div></div></footer>
</article>
<nav class="pagination-nav docusaurus-mt-lg" aria-label="Docs pages"><a class="pagination-nav__link pagination-nav__link--prev" href="/docs/intro"><div class="pagination-nav__sublabel">Previous</div><div class="pagination-nav__label">Introduction</div></a></nav>
</div></div>
<div class="col col--3"><div class="tableOfContents_bqdL thin-scrollbar theme-doc-toc-desktop"><ul class="table-of-contents table-of-contents__left-border"><li><a href="#npm" class="table-of-contents__link toc-highlight">npm</a></li></ul></div></div>
</div></div></main></div></div>
<footer class="footer footer--dark"><div class="container container-fluid"><div class="footer__copyright">Copyright © 2026 Widget, Inc. Built with Docusaurus.</div></div></footer>
</body></html>"##;
    let e = md(html, "https://widget.dev/docs/installation");
    assert_eq!(
        e.markdown,
        "# Installation\n\n\
         The widget runs on any machine with a recent runtime, and installs in one step.\n\n\
         **npm**\n\n```bash\nnpm install widget\n```\n\n\
         **Yarn**\n\n```bash\nyarn add widget\n```\n\n\
         > **tip**\n>\n> Pin the version in production."
    );
    assert_eq!(e.title, "Installation | Widget Docs");
    assert_eq!(e.description.as_deref(), Some("How to install the widget."));
    assert_eq!(
        e.canonical.as_deref(),
        Some("https://widget.dev/docs/installation")
    );
    assert_eq!(e.language.as_deref(), Some("en"));
    assert_eq!(e.modified.as_deref(), Some("2026-10-01T12:00:00Z"));
    assert_eq!(e.code_blocks.len(), 2);
    assert_eq!(e.code_blocks[1].code, "yarn add widget");
}

#[test]
fn mkdocs_material() {
    let html = r##"<!doctype html><html lang="en" class="no-js"><head>
<title>Configuration - Widget</title><meta name="description" content="Configuring the widget.">
<link rel="canonical" href="https://widget.dev/configuration/"></head>
<body dir="ltr"><input class="md-toggle" data-md-toggle="drawer" type="checkbox" id="__drawer">
<header class="md-header" data-md-component="header"><nav class="md-header__inner md-grid" aria-label="Header"><a href="/" class="md-header__button md-logo">Widget</a>
<div class="md-header__title">Configuration</div><div class="md-search" data-md-component="search" role="dialog"><form class="md-search__form"><input type="text" class="md-search__input" placeholder="Search"></form></div></nav></header>
<div class="md-container" data-md-component="container"><main class="md-main" data-md-component="main"><div class="md-main__inner md-grid">
<div class="md-sidebar md-sidebar--primary" data-md-component="sidebar" data-md-type="navigation"><div class="md-sidebar__scrollwrap"><div class="md-sidebar__inner"><nav class="md-nav md-nav--primary" aria-label="Navigation"><ul class="md-nav__list"><li class="md-nav__item"><a href="/" class="md-nav__link">Home</a></li><li class="md-nav__item md-nav__item--active"><a href="/configuration/" class="md-nav__link md-nav__link--active">Configuration</a></li></ul></nav></div></div></div>
<div class="md-sidebar md-sidebar--secondary" data-md-component="sidebar" data-md-type="toc"><div class="md-sidebar__scrollwrap"><div class="md-sidebar__inner"><nav class="md-nav md-nav--secondary" aria-label="Table of contents"><label class="md-nav__title" for="__toc">Table of contents</label><ul class="md-nav__list"><li class="md-nav__item"><a href="#options" class="md-nav__link">Options</a></li></ul></nav></div></div></div>
<div class="md-content" data-md-component="content"><article class="md-content__inner md-typeset">
<a href="https://github.com/widget/widget/edit/main/docs/configuration.md" title="Edit this page" class="md-content__button md-icon"><svg viewBox="0 0 24 24"><path d="M10"></path></svg></a>
<h1 id="configuration">Configuration<a class="headerlink" href="#configuration" title="Permanent link">&para;</a></h1>
<p>The widget reads <code>widget.toml</code> from the working directory, then the environment.</p>
<h2 id="options">Options<a class="headerlink" href="#options" title="Permanent link">&para;</a></h2>
<div class="language-toml highlight"><table class="highlighttable"><tr><td class="linenos"><div class="linenodiv"><pre><span></span><span class="normal"><a href="#__codelineno-0-1">1</a></span>
<span class="normal"><a href="#__codelineno-0-2">2</a></span></pre></div></td><td class="code"><div><pre><span></span><code><a id="__codelineno-0-1" name="__codelineno-0-1"></a><span class="n">port</span><span class="w"> </span><span class="o">=</span><span class="w"> </span><span class="mi">8080</span>
<a id="__codelineno-0-2" name="__codelineno-0-2"></a><span class="n">workers</span><span class="w"> </span><span class="o">=</span><span class="w"> </span><span class="mi">4</span>
</code></pre></div></td></tr></table></div>
<div class="admonition warning"><p class="admonition-title">Restart needed</p><p>Changes take effect after a restart.</p></div>
<div class="tabbed-set tabbed-alternate" data-tabs="1:2"><input checked="checked" id="__tabbed_1_1" name="__tabbed_1" type="radio"><input id="__tabbed_1_2" name="__tabbed_1" type="radio"><div class="tabbed-labels"><label for="__tabbed_1_1">Linux</label><label for="__tabbed_1_2">Windows</label></div>
<div class="tabbed-content"><div class="tabbed-block"><p>Edit <code>~/.config/widget.toml</code>.</p></div><div class="tabbed-block"><p>Edit <code>%APPDATA%\widget.toml</code>.</p></div></div></div>
<aside class="md-source-file"><span class="md-source-file__fact">Last update: November 2, 2026</span></aside>
</article></div></div></main>
<footer class="md-footer"><nav class="md-footer__inner md-grid" aria-label="Footer"><a href="/" class="md-footer__link md-footer__link--prev"><div class="md-footer__title"><span class="md-footer__direction">Previous</span><div class="md-ellipsis">Home</div></div></a></nav>
<div class="md-footer-meta md-typeset"><div class="md-copyright">Made with Material for MkDocs</div></div></footer></div>
</body></html>"##;
    let e = md(html, "https://widget.dev/configuration/");
    assert_eq!(
        e.markdown,
        "# Configuration\n\n\
         The widget reads `widget.toml` from the working directory, then the environment.\n\n\
         ## Options\n\n```toml\nport = 8080\nworkers = 4\n```\n\n\
         > **Restart needed**\n>\n> Changes take effect after a restart.\n\n\
         **Linux**\n\nEdit `~/.config/widget.toml`.\n\n\
         **Windows**\n\nEdit `%APPDATA%\\widget.toml`."
    );
    assert_eq!(e.language.as_deref(), Some("en"));
    assert_eq!(
        e.canonical.as_deref(),
        Some("https://widget.dev/configuration/")
    );
    assert_eq!(e.code_blocks[0].language.as_deref(), Some("toml"));
}

#[test]
fn sphinx_read_the_docs() {
    let html = r##"<!DOCTYPE html><html class="writer-html5" lang="en"><head>
<title>Quickstart &mdash; Widget 2.1 documentation</title>
<link rel="canonical" href="https://widget.readthedocs.io/en/stable/quickstart.html"></head>
<body class="wy-body-for-nav"><div class="wy-grid-for-nav">
<nav data-toggle="wy-nav-shift" class="wy-nav-side"><div class="wy-side-scroll"><div class="wy-side-nav-search"><a href="index.html" class="icon icon-home">Widget</a><div class="version">2.1</div>
<div role="search"><form id="rtd-search-form" class="wy-form" action="search.html" method="get"><input type="text" name="q" placeholder="Search docs"></form></div></div>
<div class="wy-menu wy-menu-vertical" data-spy="affix" role="navigation" aria-label="Navigation menu"><ul class="current"><li class="toctree-l1 current"><a class="current reference internal" href="#">Quickstart</a></li><li class="toctree-l1"><a class="reference internal" href="api.html">API</a></li></ul></div></div></nav>
<section data-toggle="wy-nav-shift" class="wy-nav-content-wrap"><nav class="wy-nav-top" aria-label="Mobile navigation menu"><a href="index.html">Widget</a></nav>
<div class="wy-nav-content"><div class="rst-content">
<div role="navigation" aria-label="Page navigation"><ul class="wy-breadcrumbs"><li><a href="index.html" class="icon icon-home"></a> &raquo;</li><li>Quickstart</li><li class="wy-breadcrumbs-aside"><a href="_sources/quickstart.rst.txt" rel="nofollow">View page source</a></li></ul><hr/></div>
<div role="main" class="document" itemscope="itemscope" itemtype="http://schema.org/Article"><div itemprop="articleBody">
<section id="quickstart"><h1>Quickstart<a class="headerlink" href="#quickstart" title="Permalink to this heading">&#xb6;</a></h1>
<p>Start a widget with a few lines of Python, and stop it when you are done.</p>
<div class="highlight-python notranslate"><div class="highlight"><pre><span></span><span class="linenos">1</span><span class="kn">import</span> <span class="nn">widget</span>
<span class="linenos">2</span><span class="n">w</span> <span class="o">=</span> <span class="n">widget</span><span class="o">.</span><span class="n">start</span><span class="p">()</span>
</pre></div></div>
<div class="admonition note"><p class="admonition-title">Note</p><p>A widget started this way stops when the interpreter exits.</p></div>
</section></div></div>
<footer><div class="rst-footer-buttons" role="navigation" aria-label="Footer"><a href="index.html" class="btn btn-neutral float-left" title="Home" accesskey="p" rel="prev"><span class="fa fa-arrow-circle-left"></span> Previous</a><a href="api.html" class="btn btn-neutral float-right" title="API" accesskey="n" rel="next">Next <span class="fa fa-arrow-circle-right"></span></a></div><hr/>
<div role="contentinfo"><p>&#169; Copyright 2026, Widget authors. Last updated on Nov 03, 2026.</p></div>Built with <a href="https://www.sphinx-doc.org/">Sphinx</a> using a <a href="https://github.com/readthedocs/sphinx_rtd_theme">theme</a> provided by <a href="https://readthedocs.org">Read the Docs</a>.</footer>
</div></div></section></div>
<div class="rst-versions" data-toggle="rst-versions" role="note" aria-label="Versions"><span class="rst-current-version" data-toggle="rst-current-version">v: stable</span><div class="rst-other-versions"><dl><dt>Versions</dt><dd><a href="/en/latest/">latest</a></dd></dl></div></div>
</body></html>"##;
    let e = md(
        html,
        "https://widget.readthedocs.io/en/stable/quickstart.html",
    );
    assert_eq!(
        e.markdown,
        "# Quickstart\n\n\
         Start a widget with a few lines of Python, and stop it when you are done.\n\n\
         ```python\nimport widget\nw = widget.start()\n```\n\n\
         > **Note**\n>\n> A widget started this way stops when the interpreter exits."
    );
    assert_eq!(e.code_blocks[0].language.as_deref(), Some("python"));
    assert_eq!(e.title, "Quickstart — Widget 2.1 documentation");
}

#[test]
fn nextra() {
    let html = r##"<!DOCTYPE html><html lang="en" dir="ltr"><head><title>Events – Widget</title>
<meta name="description" content="Listening to widget events."></head><body>
<div class="nextra-nav-container nx-sticky nx-top-0"><nav class="nx-mx-auto nx-flex"><a class="nx-flex nx-items-center" href="/">Widget</a><a href="https://github.com/widget/widget">GitHub</a></nav></div>
<div class="nx-mx-auto nx-flex nx-max-w-[90rem]"><aside class="nextra-sidebar-container nx-flex nx-flex-col"><div class="nx-overflow-y-auto"><ul class="nx-flex nx-flex-col nx-gap-1"><li><a href="/docs/events">Events</a></li><li><a href="/docs/api">API</a></li></ul></div></aside>
<nav class="nextra-toc nx-order-last nx-hidden" aria-label="table of contents"><div class="nextra-scrollbar"><p class="nx-font-semibold">On This Page</p><ul><li><a href="#listening">Listening</a></li></ul></div></nav>
<article class="nx-w-full nx-break-words nextra-content nx-flex nx-min-h-[calc(100vh-var(--nextra-navbar-height))] nx-min-w-0 nx-justify-center nx-pb-8 nx-pr-[calc(env(safe-area-inset-right)-1.5rem)]"><main class="nx-w-full nx-min-w-0 nx-max-w-6xl nx-px-6 nx-pt-4 md:nx-px-12">
<div class="nextra-breadcrumb nx-mt-1.5 nx-flex nx-items-center nx-gap-1"><div>Docs</div><div>Events</div></div>
<h1 class="nx-mt-2 nx-text-4xl">Events</h1>
<p class="nx-mt-6 nx-leading-7 first:nx-mt-0">Every widget emits events you can listen to, one callback per event name.</p>
<div class="nextra-callout nx-overflow-x-auto nx-mt-6 nx-flex nx-rounded-lg nx-border"><div class="nx-select-none nx-text-xl">💡</div><div class="nx-w-full nx-min-w-0 nx-leading-7"><p class="nx-mt-6 nx-leading-7 first:nx-mt-0">Callbacks run on the widget's own thread.</p></div></div>
<div class="nx-mt-4 nx-flex nx-w-full nx-gap-2 nx-overflow-x-auto nx-border-b" role="tablist" aria-orientation="horizontal"><button class="nx-mr-2" id="headlessui-tabs-tab-1" role="tab" type="button" aria-selected="true">JavaScript</button><button class="nx-mr-2" id="headlessui-tabs-tab-2" role="tab" type="button" aria-selected="false">Python</button></div>
<div><div id="headlessui-tabs-panel-1" role="tabpanel" tabindex="0" class="nx-rounded nx-pt-6"><div class="nextra-code-block nx-relative nx-mt-6 first:nx-mt-0"><pre class="nx-bg-primary-700/5 nx-mb-4 nx-overflow-x-auto nx-rounded-xl" data-language="js" data-theme="default"><code class="nx-border-black" dir="ltr" data-language="js" data-theme="default"><span class="line"><span style="color:var(--shiki-token-function)">widget</span><span>.on(</span><span>"ready"</span><span>, start)</span></span></code></pre><div class="nx-opacity-0 nx-transition"><button class="nextra-button nx-transition-all" title="Copy code" tabindex="0">Copy</button></div></div></div>
<div id="headlessui-tabs-panel-2" role="tabpanel" tabindex="-1" hidden="" class="nx-rounded nx-pt-6"><div class="nextra-code-block nx-relative nx-mt-6 first:nx-mt-0"><pre class="nx-mb-4" data-language="py"><code data-language="py"><span class="line"><span>widget.on(</span><span>"ready"</span><span>, start)</span></span></code></pre></div></div></div>
<div class="nx-mt-16"></div><div class="nx-mb-8 nx-flex nx-items-center nx-border-t nx-pt-8"><a title="API" class="nx-ml-auto nx-flex" href="/docs/api">API</a></div>
</main></article></div>
<footer class="nx-bg-gray-100 nx-pb-[env(safe-area-inset-bottom)]"><div class="nx-mx-auto nx-flex">MIT 2026 © Widget.</div></footer>
</body></html>"##;
    let e = md(html, "https://widget.dev/docs/events");
    assert_eq!(
        e.markdown,
        "# Events\n\n\
         Every widget emits events you can listen to, one callback per event name.\n\n\
         > 💡\n>\n> Callbacks run on the widget's own thread.\n\n\
         **JavaScript**\n\n```js\nwidget.on(\"ready\", start)\n```\n\n\
         **Python**\n\n```py\nwidget.on(\"ready\", start)\n```"
    );
    assert_eq!(e.language.as_deref(), Some("en"));
}

#[test]
fn github_pages_jekyll() {
    let html = r##"<!DOCTYPE html><html lang="en"><head><title>Getting started | Widget</title>
<meta name="description" content="Start here."><link rel="canonical" href="https://widget.github.io/getting-started/">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"BlogPosting","dateModified":"2026-09-30T10:00:00+00:00","headline":"Getting started"}</script></head>
<body><header class="site-header" role="banner"><div class="wrapper"><a class="site-title" rel="author" href="/">Widget</a><nav class="site-nav"><input type="checkbox" id="nav-trigger" class="nav-trigger"><div class="trigger"><a class="page-link" href="/about/">About</a></div></nav></div></header>
<main class="page-content" aria-label="Content"><div class="wrapper"><article class="post h-entry" itemscope itemtype="http://schema.org/BlogPosting">
<header class="post-header"><h1 class="post-title p-name" itemprop="name headline">Getting started</h1><p class="post-meta"><time class="dt-published" datetime="2026-09-01T10:00:00+00:00" itemprop="datePublished">Sep 1, 2026</time></p></header>
<div class="post-content e-content" itemprop="articleBody"><p>Clone the repository and build it with one command; the build takes about a minute.</p>
<div class="language-shell highlighter-rouge"><div class="highlight"><pre class="highlight"><code>make build
</code></pre></div></div>
<p>Then read the <a href="/guide/">guide</a>.</p></div>
<a class="u-url" href="/getting-started/" hidden></a></article></div></main>
<footer class="site-footer h-card"><div class="wrapper"><h2 class="footer-heading">Widget</h2><div class="footer-col-wrapper"><ul class="contact-list"><li class="p-name">Widget authors</li></ul></div></div></footer>
</body></html>"##;
    let e = md(html, "https://widget.github.io/getting-started/");
    assert_eq!(
        e.markdown,
        "Clone the repository and build it with one command; the build takes about a minute.\n\n\
         ```shell\nmake build\n```\n\n\
         Then read the [guide](https://widget.github.io/guide/)."
    );
    assert_eq!(e.modified.as_deref(), Some("2026-09-30T10:00:00+00:00"));
    assert_eq!(
        e.canonical.as_deref(),
        Some("https://widget.github.io/getting-started/")
    );
}

#[test]
fn gitbook_style() {
    let html = r##"<!DOCTYPE html><html lang="en"><head><title>Limits | Widget</title></head><body>
<div class="gitbook-root"><header class="site-header"><a href="/">Widget</a><div class="search"><input placeholder="Search"></div></header>
<div class="layout"><aside class="sidebar table-of-contents"><nav><ul><li><a href="/">Overview</a></li><li><a href="/limits">Limits</a></li></ul></nav></aside>
<main class="page"><div class="page-inner"><h1 id="limits">Limits</h1>
<p>A widget handles at most one thousand requests per second, and queues the rest.</p>
<div class="hint hint-warning" role="note"><p>Requests queued longer than a minute are dropped.</p></div>
<div class="page-footer"><a class="edit-link" href="https://github.com/widget/docs/blob/main/limits.md">Edit on GitHub</a><p class="last-modified">Last modified 2mo ago</p></div>
<div class="pagination"><a class="previous" href="/">Overview</a></div>
</div></main></div></div></body></html>"##;
    let e = md(html, "https://docs.widget.dev/limits");
    assert_eq!(
        e.markdown,
        "# Limits\n\n\
         A widget handles at most one thousand requests per second, and queues the rest.\n\n\
         > Requests queued longer than a minute are dropped."
    );
}

#[test]
fn mintlify_style() {
    let html = r##"<!DOCTYPE html><html lang="en"><head><title>Authentication - Widget API</title>
<meta name="description" content="Authenticate requests with an API key."></head><body>
<div id="navbar" class="z-30 fixed lg:sticky top-0 w-full"><nav><a href="/"><img class="nav-logo" src="/logo.svg" alt="Widget"></a><button type="button" class="search">Search...</button><a href="https://dashboard.widget.dev">Dashboard</a></nav></div>
<div class="max-w-8xl px-4 mx-auto"><div id="sidebar" class="hidden lg:block fixed z-20 inset-0"><div id="sidebar-content" class="relative lg:text-sm"><div class="sidebar-group-header"><h5>Get started</h5></div><ul id="sidebar-group"><li id="/introduction"><a href="/introduction">Introduction</a></li><li id="/authentication"><a class="font-semibold" href="/authentication">Authentication</a></li></ul></div></div>
<div class="lg:pl-[19.5rem]"><div class="flex flex-row-reverse gap-12 box-border w-full pt-40 lg:pt-10">
<div class="hidden xl:flex self-start sticky xl:flex-col max-w-[28rem] h-[calc(100vh-9.5rem)] top-[7.5rem]" id="content-side-layout"><div id="table-of-contents" class="toc"><div class="text-gray-700 text-sm leading-6"><div class="flex items-center space-x-2">On this page</div><ul id="table-of-contents-content"><li class="toc-item"><a href="#api-keys">API keys</a></li></ul></div></div></div>
<div class="relative grow box-border flex-col w-full mx-auto px-1 lg:pl-[23.7rem] lg:-ml-12 xl:w-[calc(100%-28rem)]" id="content-area">
<header id="header" class="relative"><div class="mt-0.5 space-y-2.5"><div class="eyebrow h-5 text-primary text-sm font-semibold">Get started</div><div class="flex items-center"><h1 id="page-title" class="inline-block text-2xl sm:text-3xl font-bold">Authentication</h1></div></div><div class="mt-2 text-lg prose prose-gray dark:prose-invert"><p>Authenticate requests with an API key.</p></div></header>
<div class="mdx-content relative mt-8 prose prose-gray dark:prose-invert" data-page-title="Authentication" data-page-href="/authentication" id="content">
<h2 class="flex whitespace-pre-wrap group" id="api-keys"><div class="absolute"><a href="#api-keys" class="-ml-10 flex items-center opacity-0 border-0 group-hover:opacity-100" aria-label="Navigate to header">&#8203;<div class="w-6 h-6 text-gray-400 rounded-md flex items-center justify-center">🔗</div></a></div><span class="cursor-pointer">API keys</span></h2>
<p>Send your key in the <code>Authorization</code> header of every request, as a bearer token.</p>
<div class="callout my-4 px-5 py-4 overflow-hidden rounded-2xl flex gap-3 border border-amber-500/20 bg-amber-50/50" data-callout-type="warning"><div class="mt-0.5 w-4" data-component-part="callout-icon"><svg class="flex-none w-5 h-5 text-amber-400" aria-label="Warning"><path d="M8"></path></svg></div><div class="text-sm prose min-w-0 w-full" data-component-part="callout-content"><p>Never put a key in client-side code.</p></div></div>
<div class="not-prose gray-frame code-group p-0.5 mt-5 mb-8 rounded-2xl"><div role="tablist" class="flex text-xs leading-6 rounded-tl-xl pt-2"><button role="tab" type="button" aria-selected="true" class="tab">cURL</button><button role="tab" type="button" aria-selected="false" class="tab">Python</button></div>
<div class="flex flex-col h-full"><div role="tabpanel" class="code-block"><pre class="language-bash"><code class="language-bash">curl -H "Authorization: Bearer $KEY" https://api.widget.dev/v1/me</code></pre><div class="z-10 absolute top-5 right-5"><button class="h-7 w-7 rounded-md" data-testid="copy-code-button" aria-label="Copy the contents from the code block">Copy</button></div></div>
<div role="tabpanel" class="code-block" hidden><pre class="language-python"><code class="language-python">widget.Client(key=KEY).me()</code></pre></div></div></div>
</div>
<div class="leading-6 mt-14"><div class="feedback-toolbar flex items-center"><p class="text-sm">Was this page helpful?</p><button class="yes">Yes</button><button class="no">No</button></div>
<div class="mb-12 px-0.5 flex items-center text-sm font-semibold text-gray-700"><a class="flex items-center space-x-3 group" href="/introduction"><span class="group-hover:text-gray-900">Introduction</span></a><a class="flex items-center ml-auto space-x-3 group" href="/errors"><span class="group-hover:text-gray-900">Errors</span></a></div></div>
<footer id="footer" class="flex gap-12 justify-between pt-10 border-t"><div class="flex gap-6 flex-wrap"><a href="https://x.com/widget">x</a><a href="https://github.com/widget">github</a></div><div class="flex items-center justify-between"><a href="https://mintlify.com" target="_blank" rel="noreferrer" class="text-sm text-gray-400">Powered by Mintlify</a></div></footer>
</div></div></div></div></body></html>"##;
    let e = md(html, "https://docs.widget.dev/authentication");
    assert_eq!(
        e.markdown,
        "## API keys\n\n\
         Send your key in the `Authorization` header of every request, as a bearer token.\n\n\
         > Never put a key in client-side code.\n\n\
         **cURL**\n\n```bash\ncurl -H \"Authorization: Bearer $KEY\" https://api.widget.dev/v1/me\n```\n\n\
         **Python**\n\n```python\nwidget.Client(key=KEY).me()\n```"
    );
    assert_eq!(
        e.description.as_deref(),
        Some("Authenticate requests with an API key.")
    );
}
